#!/bin/bash
# Starts js-ipfs offline with the repo in $IPFS_PATH; the first start initialises it from the addresses below.
set -euo pipefail
api=${IPFS_API_ADDR:-0.0.0.0:5001}
gateway=${IPFS_GATEWAY_ADDR:-127.0.0.1:8080}
swarm=${IPFS_SWARM_ADDR:-127.0.0.1:4001}
ma() { echo "/ip4/${1%:*}/tcp/${1##*:}"; }
config=$(mktemp)
cat > "$config" <<JSON
{"Addresses":{"API":"$(ma "$api")","Gateway":"$(ma "$gateway")","RPC":"","Swarm":["$(ma "$swarm")"],"Delegates":[]},
 "Bootstrap":[],"Discovery":{"MDNS":{"Enabled":false},"webRTCStar":{"Enabled":false}},"Swarm":{"DisableNatPortMap":true}}
JSON
exec ipfs daemon --offline --enable-preload=false --init-profile=server --init-config="$config" "$@"
