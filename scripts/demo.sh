#!/usr/bin/env bash
# Sets up .venv, then starts the server on SQLite (data/carerounds.db) with the demo school
# on http://127.0.0.1:8000. Extra args go to `carerounds-server demo` (--port, --host, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/carerounds-server demo "$@"
