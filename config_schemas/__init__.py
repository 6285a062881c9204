"""Stack config: typed models, cross-key checks, and the loader."""

from config_schemas.loading import LoadedConfig, parse_config
from config_schemas.model import ClusterConfig
from config_schemas.problems import ConfigError, Problem

__all__ = ["ClusterConfig", "ConfigError", "LoadedConfig", "Problem", "parse_config"]
