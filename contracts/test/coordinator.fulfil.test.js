import { expect } from "chai";
import { adapters, deployCoordinator, ethers, networkHelpers, resultCommitment, sendRequest }
  from "./support/fixture.js";

const { loadFixture, time } = networkHelpers;
const OUTPUT = ethers.toUtf8Bytes(" there was a little robot who loved the sea.");

describe("InferenceCoordinator.fulfill", function () {
  it("delivers the output, credits the oracle and ends the request", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, recording, { adapters: adapters(2) });
    const commitment = resultCommitment(requestId, request, OUTPUT);
    expect(await coordinator.computeResultCommitment(requestId, request, OUTPUT)).to.equal(commitment);
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment))
      .to.emit(coordinator, "InferenceFulfilled")
      .withArgs(requestId, oracleA.address, ethers.keccak256(OUTPUT), commitment, true);
    expect(await recording.lastRequestId()).to.equal(requestId);
    expect(await recording.lastOutput()).to.equal(ethers.hexlify(OUTPUT));
    expect(await recording.lastResultCommitment()).to.equal(commitment);
    expect(await coordinator.isPending(requestId)).to.equal(false);
    expect(await coordinator.credits(oracleA.address)).to.equal(fee);
    await expect(coordinator.connect(oracleA).withdraw())
      .to.changeEtherBalances(ethers, [oracleA, coordinator], [fee, -fee]);
    await expect(coordinator.connect(oracleA).withdraw())
      .to.be.revertedWithCustomError(coordinator, "NothingToWithdraw");
  });

  it("rejects a request that does not match its commitment", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording);
    const tampered = [
      { ...request, prompt: ethers.hexlify(ethers.toUtf8Bytes("Something else")) },
      { ...request, fee: request.fee + 1n },
      { ...request, callbackGasLimit: 1n },
      { ...request, adapters: [{ ...request.adapters[0], weight: 1n }] },
      { ...request, consumer: oracleA.address },
    ];
    for (const bad of tampered) {
      await expect(coordinator.connect(oracleA).fulfill(requestId, bad, OUTPUT, resultCommitment(requestId, bad, OUTPUT)))
        .to.be.revertedWithCustomError(coordinator, "CommitmentMismatch").withArgs(requestId);
    }
    await expect(coordinator.connect(oracleA).fulfill(requestId + 1n, request, OUTPUT, resultCommitment(requestId, request, OUTPUT)))
      .to.be.revertedWithCustomError(coordinator, "RequestNotPending").withArgs(requestId + 1n);
  });

  it("rejects a result commitment that does not bind the output and parameters", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording);
    const good = resultCommitment(requestId, request, OUTPUT);
    const forOtherOutput = resultCommitment(requestId, request, ethers.toUtf8Bytes("other"));
    const forOtherWeights = resultCommitment(requestId, request, OUTPUT, { weightsHash: ethers.ZeroHash });
    const forOtherProfile = resultCommitment(requestId, request, OUTPUT, { profile: "quant=F32;attach=MERGED;kv=F32" });
    const forOtherRequest = resultCommitment(requestId + 1n, request, OUTPUT);
    const forOtherPrompt = resultCommitment(requestId, { ...request, prompt: ethers.toUtf8Bytes("x") }, OUTPUT);
    const forOtherModel = resultCommitment(requestId, { ...request, modelId: ethers.id("other") }, OUTPUT);
    for (const wrong of [forOtherOutput, forOtherWeights, forOtherProfile, forOtherRequest, forOtherPrompt, forOtherModel,
      ethers.ZeroHash]) {
      await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, wrong))
        .to.be.revertedWithCustomError(coordinator, "ResultCommitmentMismatch").withArgs(good, wrong);
    }
  });

  it("rejects a second fulfilment and a fulfilment after a failure report", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const first = await sendRequest(coordinator, recording);
    const commitment = resultCommitment(first.requestId, first.request, OUTPUT);
    await coordinator.connect(oracleA).fulfill(first.requestId, first.request, OUTPUT, commitment);
    await expect(coordinator.connect(oracleA).fulfill(first.requestId, first.request, OUTPUT, commitment))
      .to.be.revertedWithCustomError(coordinator, "RequestNotPending").withArgs(first.requestId);
    await expect(coordinator.connect(oracleA).reportFailure(first.requestId, first.request, 10, "late"))
      .to.be.revertedWithCustomError(coordinator, "RequestNotPending");

    const second = await sendRequest(coordinator, recording);
    await coordinator.connect(oracleA).reportFailure(second.requestId, second.request, 10, "boom");
    await expect(coordinator.connect(oracleA).fulfill(second.requestId, second.request, OUTPUT,
      resultCommitment(second.requestId, second.request, OUTPUT))).to.be.revertedWithCustomError(coordinator, "RequestNotPending");
    expect(await recording.results()).to.equal(1n);
    expect(await recording.failures()).to.equal(1n);
  });

  it("rejects fulfilment by accounts that are not registered oracles", async function () {
    const { coordinator, recording, oracleA, stranger, user } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording);
    const commitment = resultCommitment(requestId, request, OUTPUT);
    for (const account of [stranger, user]) {
      await expect(coordinator.connect(account).fulfill(requestId, request, OUTPUT, commitment))
        .to.be.revertedWithCustomError(coordinator, "NotOracle").withArgs(account.address);
    }
    await coordinator.removeOracle(oracleA.address);
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment))
      .to.be.revertedWithCustomError(coordinator, "NotOracle").withArgs(oracleA.address);
  });

  it("gives the assigned oracle an exclusive window, then lets any oracle serve", async function () {
    const { coordinator, recording, oracleA, oracleB } = await loadFixture(deployCoordinator);
    await coordinator.addOracle(oracleB.address);
    const { requestId, request } = await sendRequest(coordinator, recording);
    const [assigned, other] = request.assignedOracle === oracleA.address ? [oracleA, oracleB] : [oracleB, oracleA];
    const commitment = resultCommitment(requestId, request, OUTPUT);
    await expect(coordinator.connect(other).fulfill(requestId, request, OUTPUT, commitment))
      .to.be.revertedWithCustomError(coordinator, "NotAssignedOracle")
      .withArgs(other.address, assigned.address, request.exclusiveUntil);
    await expect(coordinator.connect(other).reportFailure(requestId, request, 10, "x"))
      .to.be.revertedWithCustomError(coordinator, "NotAssignedOracle");
    // still exclusive at exactly exclusiveUntil
    await time.setNextBlockTimestamp(request.exclusiveUntil);
    await expect(coordinator.connect(other).fulfill(requestId, request, OUTPUT, commitment))
      .to.be.revertedWithCustomError(coordinator, "NotAssignedOracle");
    await time.setNextBlockTimestamp(request.exclusiveUntil + 1n);
    await expect(coordinator.connect(other).fulfill(requestId, request, OUTPUT, commitment))
      .to.emit(coordinator, "InferenceFulfilled").withArgs(requestId, other.address, ethers.keccak256(OUTPUT),
        commitment, true);
    expect(await coordinator.credits(other.address)).to.equal(request.fee);
    expect(await coordinator.credits(assigned.address)).to.equal(0n);
  });

  it("lets the assigned oracle serve inside its window", async function () {
    const { coordinator, recording, oracleA, oracleB } = await loadFixture(deployCoordinator);
    await coordinator.addOracle(oracleB.address);
    const { requestId, request } = await sendRequest(coordinator, recording);
    const assigned = request.assignedOracle === oracleA.address ? oracleA : oracleB;
    await expect(coordinator.connect(assigned).fulfill(requestId, request, OUTPUT, resultCommitment(requestId, request, OUTPUT)))
      .to.emit(coordinator, "InferenceFulfilled");
  });

  it("rejects fulfilment after the deadline", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording);
    await time.increaseTo(request.deadline + 1n);
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, resultCommitment(requestId, request, OUTPUT)))
      .to.be.revertedWithCustomError(coordinator, "RequestExpired").withArgs(requestId, request.deadline);
  });

  it("records a reverting callback without reverting the fulfilment", async function () {
    const { coordinator, reverting, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, reverting);
    const commitment = resultCommitment(requestId, request, OUTPUT);
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment))
      .to.emit(coordinator, "InferenceFulfilled").withArgs(requestId, oracleA.address, ethers.keccak256(OUTPUT),
        commitment, false);
    expect(await coordinator.isPending(requestId)).to.equal(false);
    expect(await coordinator.credits(oracleA.address)).to.equal(fee);
  });

  it("records a callback to an account without code as failed", async function () {
    const { coordinator, user, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, user);
    const commitment = resultCommitment(requestId, request, OUTPUT);
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment))
      .to.emit(coordinator, "InferenceFulfilled").withArgs(requestId, oracleA.address, ethers.keccak256(OUTPUT),
        commitment, false);
  });

  it("gives the callback exactly callbackGasLimit gas", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording, { callbackGasLimit: 250_000 });
    await coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, resultCommitment(requestId, request, OUTPUT),
      { gasLimit: 5_000_000 });
    const atEntry = await recording.gasAtEntry();
    // gasleft() at entry = limit minus the few hundred gas of calldata decoding before the first statement
    expect(atEntry).to.be.lessThanOrEqual(250_000n);
    expect(atEntry).to.be.greaterThan(249_000n);
  });

  it("reverts when the transaction cannot give the callback its gas (63/64 griefing) and survives a gas-burning callback", async function () {
    const { coordinator, burning, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, burning, { callbackGasLimit: 1_000_000 });
    const commitment = resultCommitment(requestId, request, OUTPUT);
    // An oracle sending too little gas would starve the callback: the whole fulfilment reverts instead.
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment, { gasLimit: 900_000 }))
      .to.be.revertedWithCustomError(coordinator, "InsufficientGasForCallback");
    await expect(coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment, { gasLimit: 1_040_000 }))
      .to.be.revertedWithCustomError(coordinator, "InsufficientGasForCallback");
    expect(await coordinator.isPending(requestId)).to.equal(true);
    // With enough gas the burner eats its full allowance, fails, and the fulfilment still succeeds.
    const tx = await coordinator.connect(oracleA).fulfill(requestId, request, OUTPUT, commitment, { gasLimit: 1_300_000 });
    const receipt = await tx.wait();
    expect(receipt.gasUsed).to.be.greaterThan(1_000_000n);
    const event = receipt.logs.map((l) => coordinator.interface.parseLog(l)).find((e) => e?.name === "InferenceFulfilled");
    expect(event.args.callbackSucceeded).to.equal(false);
    expect(await coordinator.credits(oracleA.address)).to.equal(fee);
  });

  it("blocks re-entry into the coordinator from callbacks", async function () {
    const { coordinator, reentering, oracleA } = await loadFixture(deployCoordinator);
    const guardSelector = coordinator.interface.getError("ReentrancyGuardReentrantCall").selector;
    const first = await sendRequest(coordinator, reentering, { callbackGasLimit: 500_000 });
    await expect(coordinator.connect(oracleA).fulfill(first.requestId, first.request, OUTPUT,
      resultCommitment(first.requestId, first.request, OUTPUT))).to.emit(coordinator, "InferenceFulfilled")
      .withArgs(first.requestId, oracleA.address, ethers.keccak256(OUTPUT), resultCommitment(first.requestId, first.request, OUTPUT), true);
    expect(await reentering.attempts()).to.equal(1n);
    expect(await reentering.withdrawSucceeded()).to.equal(false);
    expect(await reentering.withdrawError()).to.equal(guardSelector);
    expect(await reentering.requestSucceeded()).to.equal(false);
    expect(await reentering.requestError()).to.equal(guardSelector);

    const second = await sendRequest(coordinator, reentering, { callbackGasLimit: 500_000 });
    await coordinator.connect(oracleA).reportFailure(second.requestId, second.request, 2, "not found");
    expect(await reentering.attempts()).to.equal(2n);
    expect(await reentering.withdrawError()).to.equal(guardSelector);
    // the refund stays credited and is withdrawable outside a callback
    await expect(reentering.withdrawCredits()).to.changeEtherBalance(ethers, reentering, second.fee);
  });
});

describe("InferenceCoordinator.reportFailure", function () {
  it("credits the fee back to the consumer, notifies it and ends the request", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, recording);
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 3, "adapter has NaN"))
      .to.emit(coordinator, "InferenceFailed").withArgs(requestId, oracleA.address, 3, "adapter has NaN", true);
    expect(await recording.lastCode()).to.equal(3n);
    expect(await recording.lastReason()).to.equal("adapter has NaN");
    expect(await coordinator.isPending(requestId)).to.equal(false);
    expect(await coordinator.credits(await recording.getAddress())).to.equal(fee);
    expect(await coordinator.credits(oracleA.address)).to.equal(0n);
    await expect(recording.withdrawCredits()).to.changeEtherBalances(ethers, [recording, coordinator], [fee, -fee]);
  });

  it("rejects codes outside 1..10", async function () {
    const { coordinator, recording, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording);
    for (const code of [0, 11, 65535]) {
      await expect(coordinator.connect(oracleA).reportFailure(requestId, request, code, "x"))
        .to.be.revertedWithCustomError(coordinator, "InvalidFailureCode").withArgs(code);
    }
  });

  it("rejects non-oracles and tampered requests", async function () {
    const { coordinator, recording, oracleA, stranger } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, recording);
    await expect(coordinator.connect(stranger).reportFailure(requestId, request, 10, "x"))
      .to.be.revertedWithCustomError(coordinator, "NotOracle");
    await expect(coordinator.connect(oracleA).reportFailure(requestId, { ...request, fee: 0n }, 10, "x"))
      .to.be.revertedWithCustomError(coordinator, "CommitmentMismatch");
  });

  it("is allowed after the deadline and survives a reverting callback", async function () {
    const { coordinator, reverting, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, reverting);
    await time.increaseTo(request.deadline + 10n);
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 8, "deadline exceeded"))
      .to.emit(coordinator, "InferenceFailed").withArgs(requestId, oracleA.address, 8, "deadline exceeded", false);
    expect(await coordinator.credits(await reverting.getAddress())).to.equal(fee);
  });

  it("applies the 63/64 guard to the failure callback too", async function () {
    const { coordinator, burning, oracleA } = await loadFixture(deployCoordinator);
    const { requestId, request } = await sendRequest(coordinator, burning, { callbackGasLimit: 1_000_000 });
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 9, "oom", { gasLimit: 900_000 }))
      .to.be.revertedWithCustomError(coordinator, "InsufficientGasForCallback");
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 9, "oom", { gasLimit: 1_300_000 }))
      .to.emit(coordinator, "InferenceFailed").withArgs(requestId, oracleA.address, 9, "oom", false);
  });
});

describe("InferenceCoordinator.cancel", function () {
  it("refunds the consumer after the deadline and only then", async function () {
    const { coordinator, recording, oracleA, user } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, recording);
    await expect(recording.cancelRequest(requestId, request))
      .to.be.revertedWithCustomError(coordinator, "DeadlineNotPassed").withArgs(request.deadline);
    await time.increaseTo(request.deadline + 1n);
    await expect(coordinator.connect(user).cancel(requestId, request))
      .to.be.revertedWithCustomError(coordinator, "NotConsumer").withArgs(user.address, request.consumer);
    await expect(recording.cancelRequest(requestId, request))
      .to.emit(coordinator, "InferenceCancelled").withArgs(requestId);
    expect(await coordinator.credits(await recording.getAddress())).to.equal(fee);
    await expect(recording.cancelRequest(requestId, request))
      .to.be.revertedWithCustomError(coordinator, "RequestNotPending");
    await expect(coordinator.connect(oracleA).reportFailure(requestId, request, 8, "late"))
      .to.be.revertedWithCustomError(coordinator, "RequestNotPending");
    await expect(recording.withdrawCredits()).to.changeEtherBalance(ethers, recording, fee);
  });

  it("lets an EOA consumer cancel and withdraw", async function () {
    const { coordinator, user } = await loadFixture(deployCoordinator);
    const { requestId, request, fee } = await sendRequest(coordinator, user);
    await time.increaseTo(request.deadline + 1n);
    await coordinator.connect(user).cancel(requestId, request);
    await expect(coordinator.connect(user).withdraw())
      .to.emit(coordinator, "Withdrawn").withArgs(user.address, fee);
  });
});
