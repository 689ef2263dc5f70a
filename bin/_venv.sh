# Shared by bin/run and bin/test: make .venv and install a requirements file when it changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
ensure_venv() {
  local req="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "fcops: creating .venv with $($PY --version)"
    "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  local stamp=".venv/.installed-$(basename "$req")"
  local want
  want="$(cat "$req" requirements.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "fcops: installing $req"
    .venv/bin/python -m pip install -q -r "$req"
    echo "$want" > "$stamp"
  fi
}
