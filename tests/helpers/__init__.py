"""Helpers the test modules share; no test module imports another (tests/unit/test_import_rules.py)."""
