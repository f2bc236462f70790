#!/usr/bin/env bash
# One-time (and idempotent) setup behind `make tour` and `make test`:
#   1. system packages: FUSE (fuse3 + the libfuse the bindings load) and HTTP load tools,
#      through apt-get when root or with password-less sudo; otherwise say what to run;
#   2. a virtualenv in .venv with the package (editable) and all its dependencies,
#      reinstalled only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
# tzdata: TrIO builds an image from a real tree, the time-zone database, in its tests
APT_PACKAGES=(fuse3 libfuse3-3 libfuse2 wrk hey tzdata)

# --- 1. system packages --------------------------------------------------------------------------
if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        say "system packages: present (${APT_PACKAGES[*]})"
    else
        if [[ $(id -u) -eq 0 ]]; then
            as_root=()
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            as_root=(none)
        fi
        if [[ ${as_root[*]-} != none ]]; then
            say "system packages: installing ${missing[*]}"
            "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
            "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >/dev/null 2>&1
        else
            say "system packages missing: ${missing[*]}"
            echo "    run:  sudo apt-get install -y ${missing[*]}"
            echo "    (until then FUSE tests skip with that reason and the TrIO lab runs its loaders in-process)"
        fi
    fi
else
    say "not a Debian/Ubuntu system: install FUSE 3 (fusermount3, libfuse) with your package manager"
fi

# --- 2. virtualenv and Python packages -------------------------------------------------------
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: Python 3.10 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi
if [[ ! -x $VENV/bin/python ]]; then
    say "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# Reinstall when the project's declaration or its set of packages changes (an editable install
# maps only the packages that existed when it was made).
stamp=$( { cat pyproject.toml scripts/setup.sh; ls -d ./*/__init__.py; } | sha256sum | cut -c1-16)
if [[ -f $VENV/.sysai-installed && $(cat "$VENV/.sysai-installed") == "$stamp" ]] \
    && "$VENV/bin/python" -c 'import sysai' 2>/dev/null; then
    say "Python packages: up to date"
else
    say "Python packages: installing sysai-labs and its dependencies into $VENV (first time takes a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -e ".[dev]" \
        2>&1 | grep -vE '^(WARNING: Location|  |Requirement already satisfied)' | sed -n '/Successfully installed/p;/ERROR/p' || true
    # PyRCA's simulator writes the EulerCopilot lab's foreign cases; the rest of sfr-pyrca's
    # dependency list (a dashboard, old pinned ML stacks) is not needed for it, hence --no-deps.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "sfr-pyrca==1.0.1" \
        2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c 'import sysai, simpy, numpy, aiohttp, ray, matplotlib, pyrca.simulation.data_gen' \
        || { echo "error: the Python install did not complete (see above)" >&2; exit 1; }
    echo "$stamp" > "$VENV/.sysai-installed"
fi
say "ready: $VENV/bin/sysai"
