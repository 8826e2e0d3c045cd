#!/usr/bin/env bash
# Make the project's virtual environment ready: .venv in the repository root,
# on a Python >= 3.12, with exactly what a lock file pins (hash-checked):
# requirements.lock, what the app runs on (the default, and all production
# installs), or requirements-dev.lock, that plus the test and lint tools
# (LIS_LOCK_FILE=requirements-dev.lock; scripts/test.sh asks for it). The
# development lock pins every runtime package at the runtime lock's version.
#
# Use it either way:
#   scripts/bootstrap.sh              # run: prepare .venv and exit
#   source scripts/bootstrap.sh       # from another script: also cd to the
#                                     # repository root and put .venv/bin first
#                                     # on PATH (so `python` is the venv's)
#
# Which Python: $LIS_PYTHON if set, else python3.13, python3.12, python3 on
# PATH, else pyenv's 3.13.x / 3.12.x (under `pyenv root`, $PYENV_ROOT or
# ~/.pyenv). Each candidate is asked for its own version.
#
# Repeated runs are fast: the install is skipped while .venv's stamp for the
# lock file (.venv/.<lock file>.sha256) matches it. Delete .venv to start over.
set -euo pipefail

LIS_MIN_PYTHON=(3 12)
LIS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIS_VENV="$LIS_REPO_ROOT/.venv"
LIS_LOCK="$LIS_REPO_ROOT/${LIS_LOCK_FILE:-requirements.lock}"
LIS_STAMP="$LIS_VENV/.$(basename "$LIS_LOCK").sha256"
# pip itself is pinned in the development lock (pip-tools needs it there).
LIS_PIP_LOCK="$LIS_REPO_ROOT/requirements-dev.lock"

_lis_say() { printf 'bootstrap: %s\n' "$*" >&2; }

# True when "$1" runs and is at least LIS_MIN_PYTHON (asked of the interpreter).
_lis_python_ok() {
    local candidate="$1"
    [[ -n "$candidate" ]] || return 1
    "$candidate" -c "import sys; sys.exit(0 if sys.version_info >= (${LIS_MIN_PYTHON[0]}, ${LIS_MIN_PYTHON[1]}) else 1)" \
        >/dev/null 2>&1
}

_lis_python_version() {
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo "?"
}

# Print the path of a suitable base Python, or return 1.
_lis_find_python() {
    local candidates=() name found root dir pyenv_roots=()

    if [[ -n "${LIS_PYTHON:-}" ]]; then
        if _lis_python_ok "$LIS_PYTHON"; then
            printf '%s\n' "$LIS_PYTHON"
            return 0
        fi
        _lis_say "LIS_PYTHON=$LIS_PYTHON is not a working Python >= ${LIS_MIN_PYTHON[0]}.${LIS_MIN_PYTHON[1]}; looking elsewhere."
    fi

    for name in python3.13 python3.12 python3; do
        if found="$(command -v "$name" 2>/dev/null)"; then
            candidates+=("$found")
        fi
    done

    # pyenv's versions, newest first within each minor version.
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root 2>/dev/null || true)"
        [[ -n "$root" ]] && pyenv_roots+=("$root")
    fi
    [[ -n "${PYENV_ROOT:-}" ]] && pyenv_roots+=("$PYENV_ROOT")
    [[ -n "${HOME:-}" ]] && pyenv_roots+=("$HOME/.pyenv")
    for root in ${pyenv_roots[@]+"${pyenv_roots[@]}"}; do
        [[ -d "$root/versions" ]] || continue
        for name in 3.13 3.12; do
            while IFS= read -r dir; do
                [[ -n "$dir" && -x "$dir/bin/python3" ]] && candidates+=("$dir/bin/python3")
            done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name "$name*" 2>/dev/null | sort -rV)
        done
    done

    for found in ${candidates[@]+"${candidates[@]}"}; do
        if _lis_python_ok "$found"; then
            printf '%s\n' "$found"
            return 0
        fi
    done
    return 1
}

_lis_sha256() {
    "$LIS_VENV/bin/python" -c \
        'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
        "$1"
}

_lis_bootstrap() {
    local base_python lock_hash pip_pin

    if [[ ! -f "$LIS_LOCK" ]]; then
        _lis_say "missing $LIS_LOCK"
        return 1
    fi

    # An existing venv is kept only if its Python still runs and is new enough
    # (a venv copied from another machine, or made with an old Python, is not).
    if [[ -e "$LIS_VENV" ]] && ! _lis_python_ok "$LIS_VENV/bin/python"; then
        _lis_say "$LIS_VENV has no working Python >= ${LIS_MIN_PYTHON[0]}.${LIS_MIN_PYTHON[1]}; recreating it."
        rm -rf "$LIS_VENV"
    fi

    if [[ ! -e "$LIS_VENV" ]]; then
        if ! base_python="$(_lis_find_python)"; then
            cat >&2 <<EOF
bootstrap: no Python >= ${LIS_MIN_PYTHON[0]}.${LIS_MIN_PYTHON[1]} found (Django 6.1 needs it).
  Looked at: \$LIS_PYTHON, python3.13, python3.12 and python3 on PATH,
  and pyenv's versions/3.13* and versions/3.12*.
  Install Python 3.13 (or 3.12) with its venv module, e.g. one of:
    pyenv install 3.13
    apt-get install python3.13 python3.13-venv      (Debian/Ubuntu, where packaged)
    brew install python@3.13                         (macOS)
  or point LIS_PYTHON at one: LIS_PYTHON=/path/to/python3.13 $0
EOF
            return 1
        fi
        _lis_say "creating .venv with $base_python (Python $(_lis_python_version "$base_python"))"
        if ! "$base_python" -m venv "$LIS_VENV"; then
            rm -rf "$LIS_VENV"
            _lis_say "could not create the venv; the venv/ensurepip module may be missing (on Debian: apt-get install python3.X-venv)."
            return 1
        fi
    fi

    lock_hash="$(_lis_sha256 "$LIS_LOCK")"
    if [[ -f "$LIS_STAMP" && "$(cat "$LIS_STAMP")" == "$lock_hash" ]]; then
        return 0  # .venv already has what the lock pins
    fi

    _lis_say "installing $(basename "$LIS_LOCK") into .venv"
    # pip first, at the version the lock pins and with its hashes, so the rest
    # is installed by a known pip. Its block is "pip==X \" plus the indented
    # lines that follow.
    pip_pin="$(awk '/^pip==/ {on=1; print; next} on && /^[[:space:]]+--hash/ {print; next} {on=0}' "$LIS_PIP_LOCK")"
    if [[ -n "$pip_pin" ]]; then
        printf '%s\n' "$pip_pin" >"$LIS_VENV/.pip-pin.txt"
        "$LIS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$LIS_VENV/.pip-pin.txt"
        rm -f "$LIS_VENV/.pip-pin.txt"
    else
        "$LIS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    fi
    "$LIS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$LIS_LOCK"
    printf '%s\n' "$lock_hash" >"$LIS_STAMP.tmp"
    mv "$LIS_STAMP.tmp" "$LIS_STAMP"
    _lis_say "done ($("$LIS_VENV/bin/python" -m pip --version | cut -d' ' -f1-2), Python $(_lis_python_version "$LIS_VENV/bin/python"))"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: prepare, then work from the repo root with the venv first on PATH.
    # (Called plainly, not as `_lis_bootstrap || ...`: that would switch off
    # `set -e` inside it, and a failed install would still write the stamp.)
    _lis_bootstrap
    cd "$LIS_REPO_ROOT"
    export VIRTUAL_ENV="$LIS_VENV"
    export PATH="$LIS_VENV/bin:$PATH"
    hash -r
else
    _lis_bootstrap
fi
