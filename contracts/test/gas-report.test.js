// Measures the gas of the main paths and writes contracts/gas-report.json (also printed). Figures are per call on
// the in-process Hardhat network (cancun, optimizer 200 runs, viaIR), warm contracts, fresh storage slots.
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { MODEL_ID, adapters, deployCoordinator, ethers, networkHelpers, resultCommitment, sendRequest, toRequest }
  from "./support/fixture.js";

const { loadFixture } = networkHelpers;
const PROMPT = ethers.toUtf8Bytes("Once upon a time, there was a little"); // 36 bytes
const SHORT_OUTPUT = ethers.toUtf8Bytes(" girl named Lily. She loved to play outside in the sun."); // 55 bytes

describe("gas report", function () {
  it("measures request and fulfil and writes gas-report.json", async function () {
    const { coordinator, recording, reverting, storyTeller, oracleA, user } = await loadFixture(deployCoordinator);
    // Warm-up request so nonce/balance slots are not first-touch for the measured ones.
    await sendRequest(coordinator, user, { prompt: PROMPT });

    const one = await sendRequest(coordinator, user, { prompt: PROMPT, adapters: adapters(1), maxTokens: 64 });
    const two = await sendRequest(coordinator, user, { prompt: PROMPT, adapters: adapters(2), maxTokens: 64 });
    const eight = await sendRequest(coordinator, user, { prompt: PROMPT, adapters: adapters(8), maxTokens: 64 });

    const viaConsumer = await sendRequest(coordinator, recording, { prompt: PROMPT, adapters: adapters(1), maxTokens: 64 });
    const fulfilRecording = await (await coordinator.connect(oracleA).fulfill(viaConsumer.requestId,
      viaConsumer.request, SHORT_OUTPUT, resultCommitment(viaConsumer.requestId, viaConsumer.request, SHORT_OUTPUT))).wait();

    const viaReverting = await sendRequest(coordinator, reverting, { prompt: PROMPT, adapters: adapters(1), maxTokens: 64 });
    const fulfilReverting = await (await coordinator.connect(oracleA).fulfill(viaReverting.requestId,
      viaReverting.request, SHORT_OUTPUT, resultCommitment(viaReverting.requestId, viaReverting.request, SHORT_OUTPUT))).wait();

    const storyFee = await storyTeller.quoteStory(MODEL_ID, 1, 64);
    const storyTx = await (await storyTeller.connect(user).tellStory(MODEL_ID, adapters(1), ethers.toUtf8String(PROMPT),
      64, 1, { value: storyFee })).wait();
    const storyEvent = storyTx.logs.map((l) => { try { return coordinator.interface.parseLog(l); } catch { return null; } })
      .find((e) => e?.name === "InferenceRequested");
    const storyRequest = toRequest(storyEvent.args.request);
    const fulfilStory = await (await coordinator.connect(oracleA).fulfill(storyEvent.args.requestId, storyRequest,
      SHORT_OUTPUT, resultCommitment(storyEvent.args.requestId, storyRequest, SHORT_OUTPUT))).wait();

    const failure = await sendRequest(coordinator, recording, { prompt: PROMPT, adapters: adapters(1), maxTokens: 64 });
    const failureReceipt = await (await coordinator.connect(oracleA).reportFailure(failure.requestId, failure.request,
      2, "adapter not found")).wait();

    const report = {
      note: "gasUsed per transaction; Hardhat network, solc 0.8.37 cancun, optimizer 200 runs, viaIR; prompt 36 bytes, "
        + "maxTokens 64, output 55 bytes",
      requestInference_1_adapter: Number(one.receipt.gasUsed),
      requestInference_2_adapters: Number(two.receipt.gasUsed),
      requestInference_8_adapters: Number(eight.receipt.gasUsed),
      fulfill_short_output_callback_reverts_at_once: Number(fulfilReverting.gasUsed),
      fulfill_short_output_recording_consumer: Number(fulfilRecording.gasUsed),
      fulfill_short_output_storyteller: Number(fulfilStory.gasUsed),
      storyteller_tellStory_1_adapter: Number(storyTx.gasUsed),
      reportFailure: Number(failureReceipt.gasUsed),
    };
    for (const [name, value] of Object.entries(report)) {
      if (typeof value === "number") {
        expect(value).to.be.greaterThan(21_000);
      }
    }
    expect(report.requestInference_2_adapters).to.be.greaterThan(report.requestInference_1_adapter);
    writeFileSync(new URL("../gas-report.json", import.meta.url), JSON.stringify(report, null, 2) + "\n");
    console.log("      gas report (also in contracts/gas-report.json):");
    for (const [name, value] of Object.entries(report)) {
      if (typeof value === "number") console.log(`        ${name.padEnd(48)} ${value}`);
    }
  });
});
