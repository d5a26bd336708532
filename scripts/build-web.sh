#!/usr/bin/env bash
# Builds the offline PWA into build/web/ (served at /app/); a no-op while nothing changed.
# Usage: scripts/build-web.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python pwa/build.py "$@"
