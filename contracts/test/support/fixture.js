// Shared deployment and helpers for the mocha tests. One network connection for all files (ES module cache).
import { network } from "hardhat";

export const { ethers, networkHelpers } = await network.getOrCreate();

export const MODEL_ID = ethers.id("stories260K");
export const WEIGHTS_HASH = ethers.sha256(ethers.toUtf8Bytes("stories260K weights"));
export const BASE_FEE = 10n ** 15n;
export const FEE_PER_TOKEN = 10n ** 12n;
export const FEE_PER_ADAPTER = 10n ** 14n;
export const MODEL_MAX_TOKENS = 256;
export const CALLBACK_GAS_PRICE = 10n ** 9n; // 1 gwei per callback gas unit
export const PROFILE = "quant=Q8_0;attach=MERGED;kv=F32";
export const DEFAULT_CALLBACK_GAS = 300_000;
export const HOUR = 3600;

/** CIDv0: sha2-256 multihash 0x1220 + 32-byte digest. */
export function cidV0(seed = "adapter") {
  return ethers.concat(["0x1220", ethers.sha256(ethers.toUtf8Bytes(seed))]);
}

/** CIDv1 with codec 0x55 (raw) or 0x70 (dag-pb). */
export function cidV1(seed = "adapter", codec = 0x55) {
  return ethers.concat([new Uint8Array([0x01, codec, 0x12, 0x20]), ethers.sha256(ethers.toUtf8Bytes(seed))]);
}

export function adapters(count) {
  return Array.from({ length: count }, (_, i) => ({
    cid: i % 2 === 0 ? cidV0(`a${i}`) : cidV1(`a${i}`),
    weight: i % 2 === 0 ? 10_000 : -2_500,
  }));
}

export function quote(adapterCount, maxTokens, callbackGasLimit = DEFAULT_CALLBACK_GAS) {
  return BASE_FEE + FEE_PER_TOKEN * BigInt(maxTokens) + FEE_PER_ADAPTER * BigInt(adapterCount)
    + CALLBACK_GAS_PRICE * BigInt(callbackGasLimit);
}


/** Coordinator with one registered model and one oracle, plus signers. */
export async function deployCoordinator() {
  const [owner, oracleA, oracleB, user, stranger] = await ethers.getSigners();
  const coordinator = await ethers.deployContract("InferenceCoordinator", [owner.address]);
  await coordinator.registerModel(MODEL_ID, WEIGHTS_HASH, PROFILE, "hf://karpathy/tinyllamas/stories260K", BASE_FEE,
    FEE_PER_TOKEN, FEE_PER_ADAPTER, CALLBACK_GAS_PRICE, MODEL_MAX_TOKENS);
  await coordinator.addOracle(oracleA.address);
  const target = await coordinator.getAddress();
  const recording = await ethers.deployContract("RecordingConsumer", [target]);
  const reverting = await ethers.deployContract("RevertingConsumer", [target]);
  const burning = await ethers.deployContract("GasBurningConsumer", [target]);
  const reentering = await ethers.deployContract("ReenteringConsumer", [target]);
  const storyTeller = await ethers.deployContract("StoryTeller", [target, HOUR]);
  return { coordinator, owner, oracleA, oracleB, user, stranger, recording, reverting, burning, reentering,
    storyTeller };
}

/** Default request parameters; override any field. */
export async function requestParams(overrides = {}) {
  const now = await networkHelpers.time.latest();
  return {
    modelId: MODEL_ID,
    adapters: adapters(1),
    prompt: ethers.toUtf8Bytes("Once upon a time"),
    promptFormat: 0, // 0 Raw, 1 Chat
    maxTokens: 32,
    temperature: 8_000,
    topP: 9_000,
    seed: 42n,
    callbackGasLimit: DEFAULT_CALLBACK_GAS,
    deadline: now + HOUR,
    ...overrides,
  };
}

export function args(p) {
  return [p.modelId, p.adapters, p.prompt, p.promptFormat, p.maxTokens, p.temperature, p.topP, p.seed,
    p.callbackGasLimit, p.deadline];
}

/**
 * Sends a request from `from`: a signer (calls the coordinator directly) or a ConsumerHarness contract (forwards).
 * Returns the request id, the emitted request as a plain object, and the receipt.
 */
export async function sendRequest(coordinator, from, overrides = {}, value) {
  const p = await requestParams(overrides);
  const fee = value ?? (await coordinator.quoteFee(p.modelId, p.adapters.length, p.maxTokens, p.callbackGasLimit));
  const tx = typeof from.request === "function"
    ? await from.request(...args(p), { value: fee })
    : await coordinator.connect(from).requestInference(...args(p), { value: fee });
  const receipt = await tx.wait();
  const event = receipt.logs
    .map((log) => { try { return coordinator.interface.parseLog(log); } catch { return null; } })
    .find((parsed) => parsed?.name === "InferenceRequested");
  return { requestId: event.args.requestId, request: toRequest(event.args.request), receipt, params: p, fee };
}

/** The decoded event struct as a plain, editable object. */
export function toRequest(r) {
  return {
    consumer: r.consumer,
    modelId: r.modelId,
    adapters: r.adapters.map((a) => ({ cid: a.cid, weight: a.weight })),
    prompt: r.prompt,
    promptFormat: r.promptFormat,
    maxTokens: r.maxTokens,
    temperature: r.temperature,
    topP: r.topP,
    seed: r.seed,
    callbackGasLimit: r.callbackGasLimit,
    deadline: r.deadline,
    fee: r.fee,
    assignedOracle: r.assignedOracle,
    exclusiveUntil: r.exclusiveUntil,
  };
}

/** The commitment the coordinator expects for `output` (override weightsHash / profile to fabricate wrong ones). */
export function resultCommitment(requestId, request, output, { weightsHash = WEIGHTS_HASH, profile = PROFILE } = {}) {
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const adaptersHash = ethers.keccak256(coder.encode(["tuple(bytes cid,int32 weight)[]"], [request.adapters]));
  return ethers.keccak256(coder.encode(
    ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "uint32", "uint32", "uint32", "uint64", "bytes32"],
    [requestId, request.modelId, weightsHash, ethers.keccak256(ethers.toUtf8Bytes(profile)), adaptersHash,
      ethers.keccak256(request.prompt), request.maxTokens, request.temperature, request.topP, request.seed,
      ethers.keccak256(output)]));
}
