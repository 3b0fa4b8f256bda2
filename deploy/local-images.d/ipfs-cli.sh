#!/bin/bash
# `ipfs` in loracle-local/js-ipfs: the js-ipfs CLI, taking Kubo's multiaddr form of --api too (js-ipfs 0.66 only
# parses a URL there), so Kubo-style health checks (`ipfs --api=/ip4/127.0.0.1/tcp/5001 id`) work unchanged.
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --api=/ip4/*) a=${1#--api=/ip4/}; args+=("--api=http://${a%%/tcp/*}:${a##*/tcp/}") ;;
    --api) a=${2#/ip4/}; if [ "$a" != "${2:-}" ]; then args+=("--api=http://${a%%/tcp/*}:${a##*/tcp/}"); else args+=("--api=$2"); fi; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
exec /opt/js-ipfs/node_modules/.bin/jsipfs "${args[@]}"
