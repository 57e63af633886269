#!/bin/sh
# Creates or updates the virtual environment with everything skillrt needs.
# Usage: bootstrap.sh PYTHON VENV_DIR
set -eu
PYTHON=$1
VENV=$2

apt_install() {
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
    else
        echo "bootstrap: please install: $*" >&2
        exit 1
    fi
}

# Skills run the distribution's interpreter inside the sandbox, and pyseccomp needs libseccomp.
[ -x /usr/bin/python3 ] || apt_install python3
ldconfig -p 2>/dev/null | grep -q libseccomp.so.2 || apt_install libseccomp2
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
# `skillrt vet` reads shell scripts with shellcheck.
command -v shellcheck >/dev/null 2>&1 || apt_install shellcheck

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
