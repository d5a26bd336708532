#!/usr/bin/env bash
# Creates .venv with Python 3.11+ and installs the project into it (again only when
# pyproject.toml changed). Usage: scripts/setup.sh [extra]   e.g. scripts/setup.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "CareRounds needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
spec=".${1:+[$1]}"
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)${1:+-$1}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e "$spec"
  touch "$stamp"
fi
