#!/usr/bin/env bash
# Sets up .venv, builds the app (once), then serves the demo school on SQLite
# (data/carerounds.db) and the app at http://127.0.0.1:8000/app/ until Ctrl-C.
# Arguments go to `carerounds-server demo`, e.g. --host 0.0.0.0 to let phones in.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-web.sh
.venv/bin/carerounds-server demo --port 8000 "$@" &
server=$!
trap 'kill $server 2>/dev/null; wait $server' EXIT
healthy() { # over https too, for a server started with --ssl-certfile
  .venv/bin/python -c 'import httpx, sys
for scheme in ("http", "https"):
    try:
        sys.exit(httpx.get(f"{scheme}://127.0.0.1:8000/api/v1/health", verify=False).is_error)
    except httpx.TransportError:
        pass
sys.exit(1)'
}
until healthy; do kill -0 $server 2>/dev/null || exit 1; sleep 0.5; done
echo "Open http://127.0.0.1:8000/app/ in a browser (or http://<this machine's address>:8000/app/" \
  "on a phone on the same network, with --host 0.0.0.0; a phone needs HTTPS away from this" \
  "machine: see README)"
wait $server
