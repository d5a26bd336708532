#!/usr/bin/env bash
# Sets up .venv, then starts the server on SQLite (data/carerounds.db) with the demo school
# on http://127.0.0.1:8000 and the app on http://127.0.0.1:8550 (open it in a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/carerounds-server demo --port 8000 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
.venv/bin/python - <<'PY'
import time, httpx
for _ in range(120):
    try:
        if httpx.get("http://127.0.0.1:8000/api/v1/health").status_code == 200:
            break
    except httpx.TransportError:
        pass
    time.sleep(0.5)
PY
echo "Open http://127.0.0.1:8550 and sign in (server address http://127.0.0.1:8000)."
.venv/bin/carerounds-client --server http://127.0.0.1:8000 --port 8550 --data-dir data/client
