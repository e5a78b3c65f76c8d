#!/usr/bin/env bash
# Create (if missing) and fill the project's virtual environment.
# Picks the newest installed Python >= 3.11 that really runs: plain `python3.X` on PATH first,
# then pyenv's own version folders (pyenv shims of unselected versions fail to run, so every
# candidate is executed once before it is chosen).
set -euo pipefail
venv="${1:-.venv}"
stamp="$venv/.installed"
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

want_hash="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_hash" ]; then
    exit 0
fi

runs() { "$1" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; }

pick_python() {
    local v c root
    for v in 3.14 3.13 3.12 3.11; do
        for c in "python$v" "/usr/local/bin/python$v" "/usr/bin/python$v"; do
            if command -v "$c" >/dev/null 2>&1 && runs "$c"; then echo "$(command -v "$c")"; return 0; fi
        done
        root="${PYENV_ROOT:-$HOME/.pyenv}"
        for c in $(ls -d "$root"/versions/"$v"* 2>/dev/null | sort -V -r); do
            if [ -x "$c/bin/python$v" ] && runs "$c/bin/python$v"; then echo "$c/bin/python$v"; return 0; fi
        done
    done
    for c in python3 python; do
        if command -v "$c" >/dev/null 2>&1 && runs "$c"; then echo "$(command -v "$c")"; return 0; fi
    done
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    py="$(pick_python)" || { echo "bootstrap: no Python >= 3.11 found (tried python3.14..3.11, pyenv versions, python3)" >&2; exit 1; }
    echo "bootstrap: creating $venv with $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
echo "bootstrap: installing ssb-explorer and its test tools into $venv"
"$venv/bin/python" -m pip install --quiet -e ".[test]"
echo "$want_hash" > "$stamp"
