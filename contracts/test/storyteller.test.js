import { expect } from "chai";
import { MODEL_ID, adapters, deployCoordinator, ethers, networkHelpers, resultCommitment, toRequest }
  from "./support/fixture.js";

const { loadFixture, time } = networkHelpers;

async function tellStory(storyTeller, coordinator, user, { adapterCount = 1, maxTokens = 16, extra = 0n } = {}) {
  const styleAdapters = adapters(adapterCount);
  const fee = await storyTeller.quoteStory(MODEL_ID, adapterCount, maxTokens);
  const tx = await storyTeller.connect(user).tellStory(MODEL_ID, styleAdapters, "The brave mouse", maxTokens, 7,
    { value: fee + extra });
  const receipt = await tx.wait();
  const event = receipt.logs.map((l) => { try { return coordinator.interface.parseLog(l); } catch { return null; } })
    .find((e) => e?.name === "InferenceRequested");
  return { tx, receipt, fee, requestId: event.args.requestId, request: toRequest(event.args.request) };
}

describe("StoryTeller", function () {
  it("requests with its sampling settings, stores and emits the story", async function () {
    const { coordinator, storyTeller, oracleA, user } = await loadFixture(deployCoordinator);
    const { requestId, request, receipt } = await tellStory(storyTeller, coordinator, user, { adapterCount: 2 });
    const block = await ethers.provider.getBlock(receipt.blockNumber);
    expect(request.consumer).to.equal(await storyTeller.getAddress());
    expect(request.temperature).to.equal(8_000n);
    expect(request.topP).to.equal(9_000n);
    expect(request.callbackGasLimit).to.equal(100_000n + 4_000n * 16n);
    expect(request.deadline).to.equal(BigInt(block.timestamp + 3600));
    const pending = await storyTeller.stories(requestId);
    expect(pending.requester).to.equal(user.address);
    expect(pending.status).to.equal(1n);
    expect(pending.prompt).to.equal("The brave mouse");

    const output = ethers.toUtf8Bytes(" found a big red apple.");
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, output, resultCommitment(requestId, request, output)))
      .to.emit(storyTeller, "StoryTold").withArgs(requestId, user.address, " found a big red apple.");
    const told = await storyTeller.stories(requestId);
    expect(told.status).to.equal(2n);
    expect(told.story).to.equal(" found a big red apple.");
    await expect(storyTeller.connect(user).claimRefund(requestId))
      .to.be.revertedWithCustomError(storyTeller, "NotRefundable").withArgs(requestId, 2);
  });

  it("sends a chat story as CHAT messages for the model's template", async function () {
    const { coordinator, storyTeller, user } = await loadFixture(deployCoordinator);
    const messages = JSON.stringify([{ role: "user", content: "Tell me a story." }]);
    const fee = await storyTeller.quoteStory(MODEL_ID, 1, 16);
    const receipt = await (await storyTeller.connect(user).tellChatStory(MODEL_ID, adapters(1), messages, 16, 7,
      { value: fee })).wait();
    const event = receipt.logs.map((l) => { try { return coordinator.interface.parseLog(l); } catch { return null; } })
      .find((e) => e?.name === "InferenceRequested");
    const request = toRequest(event.args.request);
    expect(request.promptFormat).to.equal(1n);
    expect(ethers.toUtf8String(request.prompt)).to.equal(messages);
    expect((await storyTeller.stories(event.args.requestId)).prompt).to.equal(messages);
    const { request: raw } = await tellStory(storyTeller, coordinator, user);
    expect(raw.promptFormat).to.equal(0n);
  });

  it("returns an excess payment and rejects an underpayment", async function () {
    const { coordinator, storyTeller, user } = await loadFixture(deployCoordinator);
    const fee = await storyTeller.quoteStory(MODEL_ID, 1, 16);
    await expect(storyTeller.connect(user).tellStory(MODEL_ID, adapters(1), "x", 16, 1, { value: fee + 999n }))
      .to.changeEtherBalances(ethers, [user, coordinator, storyTeller], [-fee, fee, 0n]);
    await expect(storyTeller.connect(user).tellStory(MODEL_ID, adapters(1), "x", 16, 1, { value: fee - 1n }))
      .to.be.revertedWithCustomError(storyTeller, "InsufficientPayment").withArgs(fee, fee - 1n);
  });

  it("marks a failed story and refunds its requester", async function () {
    const { coordinator, storyTeller, oracleA, user, stranger } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await tellStory(storyTeller, coordinator, user);
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 6, "context overflow"))
      .to.emit(storyTeller, "StoryFailed").withArgs(requestId, 6, "context overflow");
    expect((await storyTeller.stories(requestId)).status).to.equal(3n);
    await expect(storyTeller.connect(stranger).claimRefund(requestId))
      .to.be.revertedWithCustomError(storyTeller, "NotRequester");
    await expect(storyTeller.connect(user).claimRefund(requestId))
      .to.changeEtherBalances(ethers, [user, coordinator], [fee, -fee]);
    expect((await storyTeller.stories(requestId)).status).to.equal(5n);
    await expect(storyTeller.connect(user).claimRefund(requestId))
      .to.be.revertedWithCustomError(storyTeller, "NotRefundable");
  });

  it("cancels an undelivered story after its deadline and refunds it", async function () {
    const { coordinator, storyTeller, user, stranger } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await tellStory(storyTeller, coordinator, user);
    await expect(storyTeller.connect(user).cancelStory(requestId, request))
      .to.be.revertedWithCustomError(coordinator, "DeadlineNotPassed");
    await time.increaseTo(request.deadline + 1n);
    await expect(storyTeller.connect(stranger).cancelStory(requestId, request))
      .to.be.revertedWithCustomError(storyTeller, "NotRequester");
    await expect(storyTeller.connect(user).cancelStory(requestId, request))
      .to.emit(storyTeller, "StoryCancelled").withArgs(requestId)
      .and.to.emit(coordinator, "InferenceCancelled").withArgs(requestId);
    await expect(storyTeller.connect(user).claimRefund(requestId))
      .to.emit(storyTeller, "StoryRefunded").withArgs(requestId, user.address, fee);
  });

  it("accepts callbacks and ether only from the coordinator", async function () {
    const { storyTeller, stranger } = await loadFixture(deployCoordinator);
    await expect(storyTeller.connect(stranger).onInferenceResult(1, "0x41", ethers.ZeroHash))
      .to.be.revertedWithCustomError(storyTeller, "OnlyCoordinator").withArgs(stranger.address);
    await expect(storyTeller.connect(stranger).onInferenceFailed(1, 1, "x"))
      .to.be.revertedWithCustomError(storyTeller, "OnlyCoordinator");
    await expect(stranger.sendTransaction({ to: await storyTeller.getAddress(), value: 1n }))
      .to.be.revertedWithCustomError(storyTeller, "OnlyCoordinator");
  });

  it("rejects a zero coordinator and a zero timeout", async function () {
    const { coordinator, storyTeller } = await loadFixture(deployCoordinator);
    await expect(ethers.deployContract("StoryTeller", [ethers.ZeroAddress, 60]))
      .to.be.revertedWithCustomError(storyTeller, "ZeroCoordinator");
    await expect(ethers.deployContract("StoryTeller", [await coordinator.getAddress(), 0]))
      .to.be.revertedWithCustomError(storyTeller, "InvalidTimeout");
  });
});
