#!/usr/bin/env bash
# The project's test command (README, CI): installs what it needs, then lint, unit tests (mocks,
# hypothesis), the network lab, and the real Pulumi engine (previews of every stack; the lab stacks
# up / up again / destroy over SSH). `vm` tests are not run here: see README "What runs where".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "not vm" "$@"
