import { expect } from "chai";
import { BASE_FEE, CALLBACK_GAS_PRICE, DEFAULT_CALLBACK_GAS, FEE_PER_ADAPTER, FEE_PER_TOKEN, MODEL_ID, PROFILE, WEIGHTS_HASH, deployCoordinator, ethers, networkHelpers }
  from "./support/fixture.js";

const { loadFixture } = networkHelpers;

describe("InferenceCoordinator administration", function () {
  it("registers a model with its fee schedule and rejects duplicates and bad input", async function () {
    const { coordinator, stranger } = await loadFixture(deployCoordinator);
    const model = await coordinator.models(MODEL_ID);
    expect(model.weightsHash).to.equal(WEIGHTS_HASH);
    expect(model.baseFee).to.equal(BASE_FEE);
    expect(model.maxTokens).to.equal(256n);
    expect(model.enabled).to.equal(true);
    expect(model.profile).to.equal(PROFILE);
    expect(model.callbackGasPrice).to.equal(CALLBACK_GAS_PRICE);

    const otherId = ethers.id("other");
    await expect(coordinator.registerModel(otherId, WEIGHTS_HASH, PROFILE, "uri", 1, 2, 3, 4, 10))
      .to.emit(coordinator, "ModelRegistered").withArgs(otherId, WEIGHTS_HASH, PROFILE, "uri", 1, 2, 3, 4, 10);
    await expect(coordinator.registerModel(otherId, WEIGHTS_HASH, PROFILE, "uri", 1, 2, 3, 4, 10))
      .to.be.revertedWithCustomError(coordinator, "ModelAlreadyRegistered").withArgs(otherId);
    await expect(coordinator.registerModel(ethers.id("x"), ethers.ZeroHash, PROFILE, "uri", 1, 2, 3, 4, 10))
      .to.be.revertedWithCustomError(coordinator, "InvalidWeightsHash");
    await expect(coordinator.registerModel(ethers.id("x"), WEIGHTS_HASH, "", "uri", 1, 2, 3, 4, 10))
      .to.be.revertedWithCustomError(coordinator, "EmptyProfile");
    await expect(coordinator.registerModel(ethers.id("x"), WEIGHTS_HASH, PROFILE, "uri", 1, 2, 3, 4, 0))
      .to.be.revertedWithCustomError(coordinator, "InvalidMaxTokens");
    await expect(coordinator.connect(stranger).registerModel(ethers.id("x"), WEIGHTS_HASH, PROFILE, "uri", 1, 2, 3, 4, 10))
      .to.be.revertedWithCustomError(coordinator, "OwnableUnauthorizedAccount").withArgs(stranger.address);
  });

  it("enables and disables models, only for known ids and only by the owner", async function () {
    const { coordinator, stranger } = await loadFixture(deployCoordinator);
    await expect(coordinator.setModelEnabled(MODEL_ID, false))
      .to.emit(coordinator, "ModelEnabledSet").withArgs(MODEL_ID, false);
    expect((await coordinator.models(MODEL_ID)).enabled).to.equal(false);
    await expect(coordinator.setModelEnabled(ethers.id("nope"), true))
      .to.be.revertedWithCustomError(coordinator, "UnknownModel");
    await expect(coordinator.connect(stranger).setModelEnabled(MODEL_ID, true))
      .to.be.revertedWithCustomError(coordinator, "OwnableUnauthorizedAccount");
  });

  it("manages the oracle set with events", async function () {
    const { coordinator, oracleA, oracleB, stranger } = await loadFixture(deployCoordinator);
    expect(await coordinator.oracleCount()).to.equal(1n);
    await expect(coordinator.addOracle(oracleB.address)).to.emit(coordinator, "OracleAdded").withArgs(oracleB.address);
    expect(await coordinator.isOracle(oracleB.address)).to.equal(true);
    expect(await coordinator.oracleAt(1)).to.equal(oracleB.address);
    await expect(coordinator.addOracle(oracleB.address))
      .to.be.revertedWithCustomError(coordinator, "OracleAlreadyRegistered").withArgs(oracleB.address);
    await expect(coordinator.addOracle(ethers.ZeroAddress)).to.be.revertedWithCustomError(coordinator, "ZeroAddress");
    await expect(coordinator.connect(stranger).addOracle(stranger.address))
      .to.be.revertedWithCustomError(coordinator, "OwnableUnauthorizedAccount");
    await expect(coordinator.removeOracle(oracleA.address))
      .to.emit(coordinator, "OracleRemoved").withArgs(oracleA.address);
    await expect(coordinator.removeOracle(oracleA.address))
      .to.be.revertedWithCustomError(coordinator, "UnknownOracle").withArgs(oracleA.address);
    expect(await coordinator.oracleCount()).to.equal(1n);
    expect(await coordinator.isOracle(oracleA.address)).to.equal(false);
  });

  it("sets limits with validation and an event", async function () {
    const { coordinator, stranger } = await loadFixture(deployCoordinator);
    expect(await coordinator.maxAdapters()).to.equal(8n);
    expect(await coordinator.maxPromptBytes()).to.equal(4096n);
    expect(await coordinator.maxCallbackGasLimit()).to.equal(2_000_000n);
    expect(await coordinator.exclusiveWindow()).to.equal(60n);
    await expect(coordinator.setLimits(4, 100, 500_000, 30))
      .to.emit(coordinator, "LimitsSet").withArgs(4, 100, 500_000, 30);
    expect(await coordinator.maxAdapters()).to.equal(4n);
    expect(await coordinator.exclusiveWindow()).to.equal(30n);
    await expect(coordinator.setLimits(0, 100, 1, 1)).to.be.revertedWithCustomError(coordinator, "InvalidLimits");
    await expect(coordinator.setLimits(1, 0, 1, 1)).to.be.revertedWithCustomError(coordinator, "InvalidLimits");
    await expect(coordinator.connect(stranger).setLimits(1, 1, 1, 1))
      .to.be.revertedWithCustomError(coordinator, "OwnableUnauthorizedAccount");
  });

  it("quotes baseFee + feePerToken * maxTokens + feePerAdapter * adapters + callbackGasPrice * callbackGas", async function () {
    const { coordinator } = await loadFixture(deployCoordinator);
    expect(await coordinator.quoteFee(MODEL_ID, 3, 100, DEFAULT_CALLBACK_GAS)).to.equal(BASE_FEE + FEE_PER_TOKEN * 100n
      + FEE_PER_ADAPTER * 3n + CALLBACK_GAS_PRICE * BigInt(DEFAULT_CALLBACK_GAS));
    await expect(coordinator.quoteFee(ethers.id("nope"), 1, 1, 0)).to.be.revertedWithCustomError(coordinator, "UnknownModel");
  });

  it("lets only the owner change a known model's callback gas price", async function () {
    const { coordinator, stranger } = await loadFixture(deployCoordinator);
    await expect(coordinator.setCallbackGasPrice(MODEL_ID, 7)).to.emit(coordinator, "CallbackGasPriceSet").withArgs(MODEL_ID, 7);
    expect(await coordinator.quoteFee(MODEL_ID, 0, 0, 1000)).to.equal(BASE_FEE + 7000n);
    await expect(coordinator.setCallbackGasPrice(ethers.id("nope"), 1)).to.be.revertedWithCustomError(coordinator, "UnknownModel");
    await expect(coordinator.connect(stranger).setCallbackGasPrice(MODEL_ID, 1))
      .to.be.revertedWithCustomError(coordinator, "OwnableUnauthorizedAccount");
  });

  it("pauses and unpauses only by the owner", async function () {
    const { coordinator, stranger } = await loadFixture(deployCoordinator);
    await expect(coordinator.connect(stranger).pause())
      .to.be.revertedWithCustomError(coordinator, "OwnableUnauthorizedAccount");
    await expect(coordinator.pause()).to.emit(coordinator, "Paused");
    await expect(coordinator.unpause()).to.emit(coordinator, "Unpaused");
  });

  it("transfers ownership in two steps", async function () {
    const { coordinator, owner, stranger } = await loadFixture(deployCoordinator);
    await coordinator.transferOwnership(stranger.address);
    expect(await coordinator.owner()).to.equal(owner.address);
    await expect(coordinator.connect(stranger).acceptOwnership())
      .to.emit(coordinator, "OwnershipTransferred").withArgs(owner.address, stranger.address);
  });
});
