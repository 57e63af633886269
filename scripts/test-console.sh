#!/bin/sh
# The web console (make test-console): its HTTP tests against a real daemon (tests/console), and
# the same in a real headless browser: Debian's chromium, driven by playwright (whose own browser
# download cannot work here; tests/console/browser). Installs chromium with apt when it is
# missing. Screenshots of each page are left in .cache/console-screenshots.
# Usage: test-console.sh VENV_DIR
set -eu
cd "$(dirname "$0")/.."
VENV=$1
CHROMIUM=${SKILLRT_CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        echo "test-console: please install chromium (or name it in \$SKILLRT_CHROMIUM)" >&2
        exit 1
    fi
fi

started=$(date +%s)
SHOTS=${SKILLRT_CONSOLE_SCREENSHOTS:-$PWD/.cache/console-screenshots}
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
SKILLRT_CONSOLE_BROWSER=$CHROMIUM SKILLRT_CONSOLE_SCREENSHOTS=$SHOTS \
    "$VENV/bin/pytest" -q -p no:cacheprovider tests/console
echo "test-console: screenshots in $SHOTS; done in $(($(date +%s) - started)) s"
