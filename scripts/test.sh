#!/usr/bin/env bash
# Sets up .venv, then runs the linters, the type checker, the import rules and the whole
# test suite (every database test on SQLite and on PostgreSQL). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
