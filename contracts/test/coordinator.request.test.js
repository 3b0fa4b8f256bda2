import { expect } from "chai";
import { CALLBACK_GAS_PRICE, MODEL_ID, MODEL_MAX_TOKENS, adapters, cidV0, cidV1, deployCoordinator, ethers, networkHelpers, quote,
  requestParams, args, sendRequest } from "./support/fixture.js";

const { loadFixture, time } = networkHelpers;

async function expectRequestRevert(overrides, error, errorArgs, valueOverride) {
  const { coordinator, user } = await loadFixture(deployCoordinator);
  const p = await requestParams(overrides);
  const value = valueOverride ?? quote(Math.max(1, p.adapters.length), Math.max(1, Math.min(p.maxTokens, 1000)),
    p.callbackGasLimit);
  const assertion = expect(coordinator.connect(user).requestInference(...args(p), { value }))
    .to.be.revertedWithCustomError(coordinator, error);
  return errorArgs ? assertion.withArgs(...errorArgs) : assertion;
}

describe("InferenceCoordinator.requestInference", function () {
  it("emits every field, stores only the commitment and derives the request id", async function () {
    const { coordinator, user, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request, receipt, params, fee } = await sendRequest(coordinator, user, { adapters: adapters(2) });
    const block = await ethers.provider.getBlock(receipt.blockNumber);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const coder = ethers.AbiCoder.defaultAbiCoder();
    expect(requestId).to.equal(BigInt(ethers.keccak256(coder.encode(["uint256", "address", "address", "uint64"],
      [chainId, await coordinator.getAddress(), user.address, 0]))));
    expect(request.consumer).to.equal(user.address);
    expect(request.modelId).to.equal(MODEL_ID);
    expect(request.adapters).to.deep.equal(params.adapters.map((a) => ({ cid: ethers.hexlify(a.cid), weight: BigInt(a.weight) })));
    expect(request.prompt).to.equal(ethers.hexlify(params.prompt));
    expect(request.promptFormat).to.equal(0n);
    expect(request.maxTokens).to.equal(32n);
    expect(request.temperature).to.equal(8_000n);
    expect(request.topP).to.equal(9_000n);
    expect(request.seed).to.equal(42n);
    expect(request.callbackGasLimit).to.equal(300_000n);
    expect(request.deadline).to.equal(BigInt(params.deadline));
    expect(request.fee).to.equal(fee);
    expect(request.assignedOracle).to.equal(oracleA.address);
    expect(request.exclusiveUntil).to.equal(BigInt(block.timestamp + 60));
    const commitment = ethers.keccak256(coder.encode([
      "tuple(address consumer,bytes32 modelId,tuple(bytes cid,int32 weight)[] adapters,bytes prompt,uint8 promptFormat,"
        + "uint32 maxTokens,"
        + "uint32 temperature,uint32 topP,uint64 seed,uint32 callbackGasLimit,uint64 deadline,uint96 fee,"
        + "address assignedOracle,uint64 exclusiveUntil)"], [request]));
    expect(await coordinator.commitments(requestId)).to.equal(commitment);
    expect(await coordinator.isPending(requestId)).to.equal(true);
    expect(await ethers.provider.getBalance(await coordinator.getAddress())).to.equal(fee);
    // indexed topics
    const second = await sendRequest(coordinator, user);
    expect(second.requestId).to.not.equal(requestId);
  });

  it("assigns oracles round-robin in request order", async function () {
    const { coordinator, user, stranger, oracleA, oracleB } = await loadFixture(deployCoordinator);
    await coordinator.addOracle(oracleB.address);
    const assigned = [];
    for (let i = 0; i < 6; i++) {
      const { request } = await sendRequest(coordinator, i % 3 === 0 ? stranger : user);
      assigned.push(request.assignedOracle);
    }
    expect(assigned).to.deep.equal([oracleA, oracleB, oracleA, oracleB, oracleA, oracleB].map((s) => s.address));
  });

  it("charges the callback gas: a consumer asking for 2M callback gas pays for it", async function () {
    const { coordinator, user } = await loadFixture(deployCoordinator);
    const small = await coordinator.quoteFee(MODEL_ID, 1, 32, 100_000);
    const large = await coordinator.quoteFee(MODEL_ID, 1, 32, 2_000_000);
    expect(large - small).to.equal(CALLBACK_GAS_PRICE * 1_900_000n);
    const p = await requestParams({ callbackGasLimit: 2_000_000 });
    await expect(coordinator.connect(user).requestInference(...args(p), { value: small }))
      .to.be.revertedWithCustomError(coordinator, "InsufficientFee").withArgs(large, small);
    const { request } = await sendRequest(coordinator, user, { callbackGasLimit: 2_000_000 });
    expect(request.fee).to.equal(large);
  });

  it("carries the chat prompt format and rejects an unknown format", async function () {
    const { coordinator, user } = await loadFixture(deployCoordinator);
    const chat = ethers.toUtf8Bytes('[{"role":"user","content":"Tell me a story"}]');
    const { requestId, request } = await sendRequest(coordinator, user, { prompt: chat, promptFormat: 1 });
    expect(request.promptFormat).to.equal(1n);
    expect(await coordinator.isPending(requestId)).to.equal(true);
    const p = await requestParams({ promptFormat: 2 });
    await expect(coordinator.connect(user).requestInference(...args(p), { value: quote(1, 32) })).to.be.revert(ethers);
  });

  it("rejects an unknown model", async function () {
    await expectRequestRevert({ modelId: ethers.id("unknown") }, "UnknownModel", [ethers.id("unknown")],
      quote(1, 32));
  });

  it("rejects a disabled model", async function () {
    const { coordinator, user } = await loadFixture(deployCoordinator);
    await coordinator.setModelEnabled(MODEL_ID, false);
    const p = await requestParams();
    await expect(coordinator.connect(user).requestInference(...args(p), { value: quote(1, 32) }))
      .to.be.revertedWithCustomError(coordinator, "ModelDisabled").withArgs(MODEL_ID);
  });

  it("rejects zero adapters", async function () {
    await expectRequestRevert({ adapters: [] }, "NoAdapters");
  });

  it("rejects more than maxAdapters adapters and accepts exactly maxAdapters", async function () {
    await expectRequestRevert({ adapters: adapters(9) }, "TooManyAdapters", [9, 8], quote(9, 32));
    const { coordinator, user } = await loadFixture(deployCoordinator);
    const { request } = await sendRequest(coordinator, user, { adapters: adapters(8) });
    expect(request.adapters.length).to.equal(8);
  });

  it("rejects malformed CIDs and accepts v0, v1 raw and v1 dag-pb", async function () {
    const bad = [
      "0x",
      ethers.concat(["0x1220", ethers.ZeroHash, "0x00"]), // 35 bytes
      ethers.concat(["0x1320", ethers.ZeroHash]), // v0 with a non-sha256 multihash code
      ethers.concat(["0x1221", ethers.ZeroHash]).slice(0, 70), // wrong digest length byte
      cidV1("x", 0x71), // dag-cbor codec
      ethers.concat(["0x02551220", ethers.ZeroHash]), // version 2
      ethers.concat(["0x01551320", ethers.ZeroHash]), // v1 with another hash
    ];
    for (const cid of bad) {
      await expectRequestRevert({ adapters: [{ cid: adapters(1)[0].cid, weight: 1 }, { cid, weight: 1 }] },
        "InvalidCid", [1], quote(2, 32));
    }
    const { coordinator, user } = await loadFixture(deployCoordinator);
    await sendRequest(coordinator, user, { adapters: [
      { cid: cidV0("a"), weight: 1 }, { cid: cidV1("b", 0x55), weight: -1 }, { cid: cidV1("c", 0x70), weight: 20000 }] });
  });

  it("rejects a zero adapter weight", async function () {
    await expectRequestRevert({ adapters: [{ cid: cidV0(), weight: 0 }] }, "ZeroAdapterWeight", [0]);
  });

  it("rejects an empty prompt", async function () {
    await expectRequestRevert({ prompt: "0x" }, "EmptyPrompt");
  });

  it("rejects a prompt longer than maxPromptBytes and accepts exactly the limit", async function () {
    await expectRequestRevert({ prompt: new Uint8Array(4097).fill(65) }, "PromptTooLong", [4097, 4096]);
    const { coordinator, user } = await loadFixture(deployCoordinator);
    await sendRequest(coordinator, user, { prompt: new Uint8Array(4096).fill(65) });
  });

  it("rejects maxTokens of 0 or above the model's limit", async function () {
    await expectRequestRevert({ maxTokens: 0 }, "InvalidMaxTokens", [0, MODEL_MAX_TOKENS]);
    await expectRequestRevert({ maxTokens: MODEL_MAX_TOKENS + 1 }, "InvalidMaxTokens",
      [MODEL_MAX_TOKENS + 1, MODEL_MAX_TOKENS]);
  });

  it("rejects topP outside (0, 1e4]", async function () {
    await expectRequestRevert({ topP: 0 }, "InvalidTopP", [0]);
    await expectRequestRevert({ topP: 10_001 }, "InvalidTopP", [10_001]);
  });

  it("rejects a callbackGasLimit above the maximum", async function () {
    await expectRequestRevert({ callbackGasLimit: 2_000_001 }, "CallbackGasLimitTooHigh", [2_000_001, 2_000_000]);
  });

  it("rejects a deadline that is not in the future", async function () {
    const now = await time.latest();
    await expectRequestRevert({ deadline: now }, "DeadlineNotInFuture");
  });

  it("rejects requests while no oracle is registered", async function () {
    const { coordinator, user, oracleA } = await loadFixture(deployCoordinator);
    await coordinator.removeOracle(oracleA.address);
    const p = await requestParams();
    await expect(coordinator.connect(user).requestInference(...args(p), { value: quote(1, 32) }))
      .to.be.revertedWithCustomError(coordinator, "NoOracles");
  });

  it("rejects a fee below the quote", async function () {
    const fee = quote(1, 32);
    await expectRequestRevert({}, "InsufficientFee", [fee, fee - 1n], fee - 1n);
  });

  it("refunds an excess payment to the sender in the same call", async function () {
    const { coordinator, user } = await loadFixture(deployCoordinator);
    const p = await requestParams();
    const fee = quote(1, 32);
    const tx = coordinator.connect(user).requestInference(...args(p), { value: fee + 12345n });
    await expect(tx).to.changeEtherBalances(ethers, [user, coordinator], [-fee, fee]);
  });

  it("rejects new requests while paused but keeps serving paid ones", async function () {
    const { coordinator, user, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, user);
    await coordinator.pause();
    const p = await requestParams();
    await expect(coordinator.connect(user).requestInference(...args(p), { value: quote(1, 32) }))
      .to.be.revertedWithCustomError(coordinator, "EnforcedPause");
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 7, "model unavailable"))
      .to.emit(coordinator, "InferenceFailed");
    await coordinator.connect(user).withdraw();
    await coordinator.unpause();
    await sendRequest(coordinator, user);
  });
});
