#!/usr/bin/env bash
# Sets up .venv, then runs the linters, the type checker, the import rules and the whole
# test suite (every database test on SQLite and on PostgreSQL), in CAREROUNDS_TEST_WORKERS
# processes (default 2; 0 runs it in this one), each test file whole in one of them.
# Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest -n "${CAREROUNDS_TEST_WORKERS:-2}" --dist loadfile "$@"
