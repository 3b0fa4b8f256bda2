#!/usr/bin/env bash
# Compose one-shot service: deploys the Loracle contracts to the stack's Anvil (dev.loracle.contracts.devchain
# .DevChainDeployer, from the oracle image's class path) and writes what the oracle needs as Spring properties.
# Re-running is safe: if the recorded coordinator still has code on the chain, nothing is deployed again.
# Env: RPC_URL, DEPLOYER_KEY_FILE, ORACLE_ADDRESS (default: Anvil dev account #1, the address of
# secrets/dev-oracle-key.txt), ORACLE_MODELS_DIR (for the weights hash), OUTPUT_FILE, LORACLE_CLASSPATH (default: the
# image's /app/app.jar:/app/lib/*).
set -euo pipefail
: "${RPC_URL:?}" "${DEPLOYER_KEY_FILE:?}" "${OUTPUT_FILE:?}"

# eth_getCode over plain bash (/dev/tcp): the JRE image has no curl.
code_at() {
  local address=$1 hostport=${RPC_URL#http://} body response
  hostport=${hostport%%/*}
  body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getCode\",\"params\":[\"$address\",\"latest\"]}"
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}"
  printf 'POST / HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$hostport" "${#body}" "$body" >&3
  response=$(cat <&3)
  exec 3<&-
  [[ $response =~ \"result\":\"(0x[0-9a-fA-F]*)\" ]] && echo "${BASH_REMATCH[1]}"
}

if [ -f "$OUTPUT_FILE" ]; then
  recorded=$(sed -n 's/^loracle.chain.coordinator-address=//p' "$OUTPUT_FILE")
  code=$(code_at "$recorded" 2>/dev/null) || code=""
  if [ -n "$recorded" ] && [ -n "$code" ] && [ "$code" != "0x" ]; then
    echo "coordinator $recorded is already deployed on $RPC_URL; keeping $OUTPUT_FILE"
    exit 0
  fi
fi

args=(--rpc "$RPC_URL" --private-key "$(tr -d '[:space:]' < "$DEPLOYER_KEY_FILE")")
if [ -n "${ORACLE_ADDRESS:-}" ]; then args+=(--oracle "$ORACLE_ADDRESS"); fi
json=$(java -cp "${LORACLE_CLASSPATH:-/app/app.jar:/app/lib/*}" dev.loracle.contracts.devchain.DevChainDeployer "${args[@]}")
echo "$json"
mkdir -p "$(dirname "$OUTPUT_FILE")"
# The whole deployment (with the StoryTeller example's address) for clients such as deploy/smoke.
printf '%s\n' "$json" > "${OUTPUT_FILE%.properties}.json"

field() {
  [[ $json =~ \"$1\":\"?([0-9A-Za-z]+)\"? ]] || { echo "error: deployer output lacks $1: $json" >&2; exit 1; }
  echo "${BASH_REMATCH[1]}"
}
cat > "$OUTPUT_FILE.tmp" <<PROPERTIES
# Written by deploy-contracts.sh from DevChainDeployer's output; read by the oracle (SPRING_CONFIG_IMPORT).
loracle.chain.coordinator-address=$(field coordinator)
loracle.chain.start-block=$(field deployBlock)
loracle.model.name=$(field modelName)
loracle.model.id=$(field modelId)
loracle.model.weights-hash=$(field weightsHash)
PROPERTIES
mv "$OUTPUT_FILE.tmp" "$OUTPUT_FILE"
echo "wrote $OUTPUT_FILE"
