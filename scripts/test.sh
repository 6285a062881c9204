#!/usr/bin/env bash
# The project's test command (README, CI): installs what it needs, then lint, unit tests
# (mocks, hypothesis) and the network lab (root). `vm` and `engine` tests are not run here:
# see README "What runs where".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "not vm and not engine" "$@"
