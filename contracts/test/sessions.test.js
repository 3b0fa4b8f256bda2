import { expect } from "chai";
import { adapters, cidV1, deployCoordinator, ethers, MODEL_ID, networkHelpers, quote, resultCommitment, toRequest }
  from "./support/fixture.js";

const { loadFixture, time } = networkHelpers;
const HEAD = (n) => ethers.keccak256(ethers.toUtf8Bytes(`head ${n}`));
const SNAPSHOT = cidV1("kv snapshot", 0x55);

/** A coordinator, a ChatBot and a user with a started chat on a two-adapter persona. */
async function chatFixture() {
  const base = await deployCoordinator();
  const chatBot = await ethers.deployContract("ChatBot", [await base.coordinator.getAddress()]);
  const persona = adapters(2);
  const tx = await chatBot.connect(base.user).startChat(MODEL_ID, persona, 7n);
  const receipt = await tx.wait();
  const opened = parse(base.coordinator, receipt, "SessionOpened");
  return { ...base, chatBot, persona, sessionId: opened.args.sessionId };
}

function parse(coordinator, receipt, name) {
  return receipt.logs.map((log) => { try { return coordinator.interface.parseLog(log); } catch { return null; } })
    .find((p) => p?.name === name);
}

/** The user says `message`; returns the turn's request id and request as emitted. */
async function say(f, message, maxTokens = 16) {
  const fee = await f.chatBot.quoteMessage(MODEL_ID, f.persona.length, maxTokens);
  const receipt = await (await f.chatBot.connect(f.user).say(message, maxTokens, { value: fee })).wait();
  const requested = parse(f.coordinator, receipt, "InferenceRequested");
  const turn = parse(f.coordinator, receipt, "SessionTurnRequested");
  return { requestId: requested.args.requestId, request: toRequest(requested.args.request), turn: turn.args.turn, fee };
}

async function fulfilTurn(f, t, reply, head, cid = SNAPSHOT) {
  const output = ethers.toUtf8Bytes(reply);
  return f.coordinator.connect(f.oracleA).fulfillTurn(t.requestId, t.request, output,
    resultCommitment(t.requestId, t.request, output), head, cid);
}

describe("sessions", function () {
  it("opens a session with everything fixed, serves its turns in order and records each head", async function () {
    const f = await loadFixture(chatFixture);
    const session = await f.coordinator.sessions(f.sessionId);
    expect(session.consumer).to.equal(await f.chatBot.getAddress());
    expect(session.temperature).to.equal(7_000n);
    expect(session.seed).to.equal(7n);

    const t0 = await say(f, "Hello bot");
    const t1 = await say(f, "Tell me a story");
    expect([t0.turn, t1.turn]).to.deep.equal([0n, 1n]);
    expect(t1.request.temperature).to.equal(7_000n, "sampling comes from the session");
    expect(t1.request.seed).to.equal(7n);
    expect(ethers.toUtf8String(t1.request.prompt)).to.equal("Tell me a story", "a turn carries only its new message");

    await expect(fulfilTurn(f, t1, "early", HEAD(1)))
      .to.be.revertedWithCustomError(f.coordinator, "PreviousTurnPending").withArgs(f.sessionId, 1);
    await expect(fulfilTurn(f, t0, " Hi!", HEAD(0)))
      .to.emit(f.coordinator, "SessionAdvanced").withArgs(f.sessionId, 0, t0.requestId, HEAD(0), SNAPSHOT);
    await expect(fulfilTurn(f, t1, " Once upon a time", HEAD(1), "0x"))
      .to.emit(f.coordinator, "SessionAdvanced").withArgs(f.sessionId, 1, t1.requestId, HEAD(1), "0x");
    expect(await f.coordinator.sessionHeads(f.sessionId)).to.equal(HEAD(1));
    const [sid, messages, replies] = await f.chatBot.conversation(f.user.address);
    expect(sid).to.equal(f.sessionId);
    expect(messages).to.deep.equal(["Hello bot", "Tell me a story"]);
    expect(replies).to.deep.equal([" Hi!", " Once upon a time"]);
  });

  it("keeps plain fulfil, heads and snapshot CIDs honest", async function () {
    const f = await loadFixture(chatFixture);
    const t0 = await say(f, "Hello");
    const output = ethers.toUtf8Bytes("x");
    await expect(f.coordinator.connect(f.oracleA).fulfill(t0.requestId, t0.request, output,
      resultCommitment(t0.requestId, t0.request, output)))
      .to.be.revertedWithCustomError(f.coordinator, "SessionTurnNeedsHead").withArgs(t0.requestId);
    await expect(fulfilTurn(f, t0, "x", ethers.ZeroHash)).to.be.revertedWithCustomError(f.coordinator, "InvalidHead");
    await expect(fulfilTurn(f, t0, "x", HEAD(0), "0x1234"))
      .to.be.revertedWithCustomError(f.coordinator, "InvalidSnapshotCid");
    await expect(fulfilTurn(f, { ...t0, request: { ...t0.request, prompt: ethers.toUtf8Bytes("other") } }, "x", HEAD(0)))
      .to.be.revertedWithCustomError(f.coordinator, "CommitmentMismatch");
    await expect(f.coordinator.connect(f.stranger).fulfillTurn(t0.requestId, t0.request, output,
      resultCommitment(t0.requestId, t0.request, output), HEAD(0), "0x"))
      .to.be.revertedWithCustomError(f.coordinator, "NotOracle");
  });

  it("lets a turn behind a failed or cancelled one be served, with refunds", async function () {
    const f = await loadFixture(chatFixture);
    const t0 = await say(f, "one");
    const t1 = await say(f, "two");
    const t2 = await say(f, "three");
    // turn 0 is too long for the context: failed with CONTEXT_OVERFLOW and refunded
    await expect(f.coordinator.connect(f.oracleA).reportFailure(t0.requestId, t0.request, 6, "session too long"))
      .to.emit(f.chatBot, "ReplyFailed").withArgs(f.user.address, t0.requestId, 6, "session too long");
    expect(await f.coordinator.credits(await f.chatBot.getAddress())).to.equal(t0.fee);
    await fulfilTurn(f, t1, " fine", HEAD(1));
    // turn 2 expires unserved: the turn after it waits, then its consumer cancels it (refunded) and turn 3 goes on
    await time.increaseTo(t2.request.deadline + 1n);
    const t3 = await say(f, "four");
    await expect(fulfilTurn(f, t3, "too early", HEAD(3)))
      .to.be.revertedWithCustomError(f.coordinator, "PreviousTurnPending").withArgs(f.sessionId, 3);
    await expect(fulfilTurn(f, t2, "late", HEAD(2))).to.be.revertedWithCustomError(f.coordinator, "RequestExpired");
    await expect(f.chatBot.connect(f.stranger).cancelMessage(t2.requestId, t2.request))
      .to.be.revertedWithCustomError(f.chatBot, "NotRequester");
    await expect(f.chatBot.connect(f.user).cancelMessage(t2.requestId, t2.request))
      .to.emit(f.coordinator, "InferenceCancelled").withArgs(t2.requestId);
    expect(await f.coordinator.turnEnded(f.sessionId, 2)).to.equal(true);
    expect(await f.coordinator.credits(await f.chatBot.getAddress())).to.equal(t0.fee + t2.fee);
    await fulfilTurn(f, t3, " bye", HEAD(3));
    expect(await f.coordinator.sessionHeads(f.sessionId)).to.equal(HEAD(3));
  });

  it("refuses turns from others, with other adapters, or on unknown sessions", async function () {
    const f = await loadFixture(chatFixture);
    const fee = quote(2, 16);
    const args = [ethers.toUtf8Bytes("hi"), 0, 16, 300_000, (await time.latest()) + 3600];
    await expect(f.coordinator.connect(f.user).requestTurn(f.sessionId, f.persona, ...args, { value: fee }))
      .to.be.revertedWithCustomError(f.coordinator, "NotSessionConsumer");
    await expect(f.coordinator.connect(f.user).requestTurn(123n, f.persona, ...args, { value: fee }))
      .to.be.revertedWithCustomError(f.coordinator, "UnknownSession").withArgs(123n);
    // a session the user opens directly, then a turn with other adapters
    const receipt = await (await f.coordinator.connect(f.user).openSession(MODEL_ID, f.persona, 0, 10_000, 1n)).wait();
    const own = parse(f.coordinator, receipt, "SessionOpened").args.sessionId;
    await expect(f.coordinator.connect(f.user).requestTurn(own, adapters(1), ...args, { value: quote(1, 16) }))
      .to.be.revertedWithCustomError(f.coordinator, "SessionAdaptersMismatch").withArgs(own);
    await expect(f.coordinator.connect(f.user).requestTurn(own, f.persona, ...args, { value: fee - 1n }))
      .to.be.revertedWithCustomError(f.coordinator, "InsufficientFee");
    await expect(f.coordinator.connect(f.user).openSession(MODEL_ID, f.persona, 0, 0, 1n))
      .to.be.revertedWithCustomError(f.coordinator, "InvalidTopP");
    await expect(f.coordinator.connect(f.user).openSession(ethers.id("nope"), f.persona, 0, 10_000, 1n))
      .to.be.revertedWithCustomError(f.coordinator, "UnknownModel");
  });

  it("computes the session head over profile, adapters and tokens", async function () {
    const f = await loadFixture(chatFixture);
    const tokens = [1, 403, 407, 261, 378];
    const coder = ethers.AbiCoder.defaultAbiCoder();
    const expected = ethers.keccak256(coder.encode(["bytes32", "bytes32", "bytes32"], [
      ethers.keccak256(ethers.toUtf8Bytes("quant=Q8_0;attach=MERGED;kv=F32")),
      ethers.keccak256(coder.encode(["tuple(bytes cid,int32 weight)[]"], [f.persona])),
      ethers.keccak256(coder.encode(["uint32[]"], [tokens]))]));
    expect(await f.coordinator.computeSessionHead(MODEL_ID, f.persona, tokens)).to.equal(expected);
    expect(await f.coordinator.computeSessionHead(MODEL_ID, f.persona, [...tokens, 5])).to.not.equal(expected);
  });
});
