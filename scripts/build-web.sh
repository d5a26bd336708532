#!/usr/bin/env bash
# Builds the offline PWA into build/web/ (served at /app/); a no-op while nothing changed.
# Usage: scripts/build-web.sh [--force]
# One build at a time (the test suite's workers may each ask for it): the others wait,
# then find it done.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
exec 9>build/.build-web.lock
flock 9
scripts/setup.sh
.venv/bin/python pwa/build.py "$@"
