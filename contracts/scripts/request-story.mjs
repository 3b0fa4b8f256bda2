// Asks the StoryTeller example contract for a story and waits for the oracle's answer, the way a dApp script or front
// end would (ethers v6). Point it at the JSON that `scripts/demo --keep-running` writes (addresses, endpoints, a dev
// account and the two example adapters), or pass your own adapters.
//
// Usage (from contracts/): node scripts/request-story.mjs <endpoints.json> [prompt] [maxTokens]
//   default prompt "Once upon a time", 64 tokens. Exits 1 on StoryFailed or timeout.
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const [file, prompt = "Once upon a time", maxTokensArg = "64"] = process.argv.slice(2);
if (!file) {
  console.error("usage: node scripts/request-story.mjs <endpoints.json> [prompt] [maxTokens]");
  process.exit(2);
}
const stack = JSON.parse(readFileSync(file, "utf8"));
const maxTokens = Number.parseInt(maxTokensArg, 10);
if (!Number.isInteger(maxTokens) || maxTokens < 1) {
  console.error(`maxTokens must be a positive integer, got ${maxTokensArg}`);
  process.exit(2);
}

// The ABI comes from the Hardhat build (npx hardhat build); a front end would import the same JSON.
const artifact = JSON.parse(readFileSync(
  new URL("../artifacts/contracts/examples/StoryTeller.sol/StoryTeller.json", import.meta.url), "utf8"));

// Poll quickly: a local chain mines in milliseconds (ethers' default polling interval is 4 s).
const provider = new ethers.JsonRpcProvider(stack.rpcUrl, undefined, { pollingInterval: 250 });
const wallet = new ethers.Wallet(stack.userPrivateKey, provider); // a public dev key: never use it on a real chain
const storyTeller = new ethers.Contract(stack.storyTeller, artifact.abi, wallet);

// Adapters are (binary CID, weight) pairs; weight is fixed point, 10000 = 1.0.
const adapters = stack.adapters.map((a) => ({ cid: a.cidBytes, weight: a.weight }));
const fee = await storyTeller.quoteStory(stack.modelId, adapters.length, maxTokens);
console.log(`fee: ${ethers.formatEther(fee)} ETH for ${adapters.length} adapters and ${maxTokens} tokens`);

const seed = BigInt(Date.now());
const tx = await storyTeller.tellStory(stack.modelId, adapters, prompt, maxTokens, seed, { value: fee });
const receipt = await tx.wait();
const requested = receipt.logs
  .map((log) => { try { return storyTeller.interface.parseLog(log); } catch { return null; } })
  .find((parsed) => parsed?.name === "StoryRequested");
const requestId = requested.args.requestId;
console.log(`request ${ethers.toBeHex(requestId, 32)} in tx ${receipt.hash} (block ${receipt.blockNumber})`);

// Wait for StoryTold or StoryFailed for this request id (both index requestId): poll the logs from the request's
// block, which also works against RPC endpoints without filter support.
async function awaitOutcome(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [told] = await storyTeller.queryFilter(storyTeller.filters.StoryTold(requestId), receipt.blockNumber);
    if (told) return { told: true, story: told.args.story, tx: told.transactionHash };
    const [failed] = await storyTeller.queryFilter(storyTeller.filters.StoryFailed(requestId), receipt.blockNumber);
    if (failed) return { told: false, code: failed.args.code, reason: failed.args.reason, tx: failed.transactionHash };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { error: `no StoryTold/StoryFailed within ${timeoutMs / 1000} s` };
}
const started = Date.now();
const outcome = await awaitOutcome(180_000);

if (outcome.error) {
  console.error(`error: ${outcome.error}`);
  process.exit(1);
}
console.log(`answered after ${Date.now() - started} ms in tx ${outcome.tx}`);
if (outcome.told) {
  console.log(`story: ${prompt}${outcome.story}`);
} else {
  console.error(`StoryFailed code ${outcome.code}: ${outcome.reason} (claimRefund(${requestId}) returns the fee)`);
  process.exit(1);
}
