// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IInferenceCoordinator} from "./interfaces/IInferenceCoordinator.sol";
import {IInferenceSessions} from "./interfaces/IInferenceSessions.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {CidBytes} from "./libraries/CidBytes.sol";
import {FailureCodes} from "./libraries/FailureCodes.sol";

/// @title InferenceCoordinator
/// @notice Escrows fees for LoRA inference requests, assigns them round-robin to registered oracles and routes the
/// results (or failures) back to the consumer contracts.
/// @dev Pausing stops new requests only: paid requests can still be fulfilled, failed or cancelled and credits
/// withdrawn, so a pause never locks funds. All entry points that move value are non-reentrant, so consumer
/// callbacks cannot re-enter the coordinator.
contract InferenceCoordinator is IInferenceCoordinator, IInferenceSessions, Ownable2Step, Pausable, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @dev Gas kept back for the work between the gas check and the CALL opcode in `_callWithExactGas`.
    uint256 private constant CALLBACK_GAS_OVERHEAD = 5_000;

    /// @notice Most adapters a request may carry.
    uint32 public maxAdapters = 8;
    /// @notice Longest prompt in bytes.
    uint32 public maxPromptBytes = 4096;
    /// @notice Highest callbackGasLimit a request may ask for.
    uint32 public maxCallbackGasLimit = 2_000_000;
    /// @notice Seconds during which only the assigned oracle may serve a request.
    uint32 public exclusiveWindow = 60;
    /// @dev Request counter: mixed into request ids and used for the round-robin oracle assignment.
    uint64 private _nonce;

    /// @notice Registered models by id.
    mapping(bytes32 modelId => Model) public models;
    /// @notice Commitment (keccak256(abi.encode(request))) of every pending request.
    mapping(uint256 requestId => bytes32) public commitments;
    /// @inheritdoc IInferenceCoordinator
    mapping(address account => uint256) public credits;

    EnumerableSet.AddressSet private _oracles;

    /// @notice Sessions by id.
    mapping(uint256 sessionId => Session) public sessions;
    /// @notice The session turn each session request is (sessionId 0 for ordinary requests).
    mapping(uint256 requestId => Turn) public turns;
    /// @notice Whether a session's turn has ended (fulfilled, failed or cancelled).
    mapping(uint256 sessionId => mapping(uint32 turn => bool)) public turnEnded;
    /// @notice The head recorded by the session's latest fulfilled turn.
    mapping(uint256 sessionId => bytes32) public sessionHeads;
    /// @dev Session counter, mixed into session ids.
    uint64 private _sessionNonce;

    /// @param initialOwner Account that manages models, oracles, limits and pausing.
    constructor(address initialOwner) Ownable(initialOwner) {}

    modifier onlyServingOracle(InferenceRequest calldata request) {
        if (!_oracles.contains(msg.sender)) revert NotOracle(msg.sender);
        if (block.timestamp <= request.exclusiveUntil && msg.sender != request.assignedOracle) {
            revert NotAssignedOracle(msg.sender, request.assignedOracle, request.exclusiveUntil);
        }
        _;
    }

    // ---------------------------------------------------------------- administration

    /// @inheritdoc IInferenceCoordinator
    function registerModel(
        bytes32 modelId,
        bytes32 weightsHash,
        string calldata profile,
        string calldata uri,
        uint96 baseFee,
        uint96 feePerToken,
        uint96 feePerAdapter,
        uint96 callbackGasPrice,
        uint32 maxTokens
    ) external onlyOwner {
        if (weightsHash == bytes32(0)) revert InvalidWeightsHash();
        if (bytes(profile).length == 0) revert EmptyProfile();
        if (maxTokens == 0) revert InvalidMaxTokens(maxTokens, 0);
        if (models[modelId].weightsHash != bytes32(0)) revert ModelAlreadyRegistered(modelId);
        models[modelId] =
            Model(weightsHash, baseFee, feePerToken, feePerAdapter, callbackGasPrice, maxTokens, true, uri, profile);
        emit ModelRegistered(
            modelId, weightsHash, profile, uri, baseFee, feePerToken, feePerAdapter, callbackGasPrice, maxTokens
        );
    }

    /// @inheritdoc IInferenceCoordinator
    function setCallbackGasPrice(bytes32 modelId, uint96 callbackGasPrice) external onlyOwner {
        Model storage model = models[modelId];
        if (model.weightsHash == bytes32(0)) revert UnknownModel(modelId);
        model.callbackGasPrice = callbackGasPrice;
        emit CallbackGasPriceSet(modelId, callbackGasPrice);
    }

    /// @inheritdoc IInferenceCoordinator
    function setModelEnabled(bytes32 modelId, bool enabled) external onlyOwner {
        Model storage model = models[modelId];
        if (model.weightsHash == bytes32(0)) revert UnknownModel(modelId);
        model.enabled = enabled;
        emit ModelEnabledSet(modelId, enabled);
    }

    /// @inheritdoc IInferenceCoordinator
    function addOracle(address oracle) external onlyOwner {
        if (oracle == address(0)) revert ZeroAddress();
        if (!_oracles.add(oracle)) revert OracleAlreadyRegistered(oracle);
        emit OracleAdded(oracle);
    }

    /// @inheritdoc IInferenceCoordinator
    function removeOracle(address oracle) external onlyOwner {
        if (!_oracles.remove(oracle)) revert UnknownOracle(oracle);
        emit OracleRemoved(oracle);
    }

    /// @notice Sets the request limits and the exclusive window (owner only).
    /// @param maxAdapters_ Most adapters per request (>= 1).
    /// @param maxPromptBytes_ Longest prompt in bytes (>= 1).
    /// @param maxCallbackGasLimit_ Highest callbackGasLimit.
    /// @param exclusiveWindow_ Seconds the assigned oracle has before any oracle may serve a request.
    function setLimits(
        uint32 maxAdapters_,
        uint32 maxPromptBytes_,
        uint32 maxCallbackGasLimit_,
        uint32 exclusiveWindow_
    ) external onlyOwner {
        if (maxAdapters_ == 0 || maxPromptBytes_ == 0) revert InvalidLimits();
        (maxAdapters, maxPromptBytes, maxCallbackGasLimit, exclusiveWindow) =
            (maxAdapters_, maxPromptBytes_, maxCallbackGasLimit_, exclusiveWindow_);
        emit LimitsSet(maxAdapters_, maxPromptBytes_, maxCallbackGasLimit_, exclusiveWindow_);
    }

    /// @notice Stops new requests (owner only).
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Accepts new requests again (owner only).
    function unpause() external onlyOwner {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IInferenceCoordinator
    function isOracle(address account) external view returns (bool) {
        return _oracles.contains(account);
    }

    /// @inheritdoc IInferenceCoordinator
    function oracleCount() external view returns (uint256) {
        return _oracles.length();
    }

    /// @inheritdoc IInferenceCoordinator
    function oracleAt(uint256 index) external view returns (address) {
        return _oracles.at(index);
    }

    /// @inheritdoc IInferenceCoordinator
    function isPending(uint256 requestId) external view returns (bool) {
        return commitments[requestId] != bytes32(0);
    }

    /// @inheritdoc IInferenceCoordinator
    function quoteFee(bytes32 modelId, uint256 adapterCount, uint32 maxTokens, uint32 callbackGasLimit)
        public
        view
        returns (uint256)
    {
        Model storage model = models[modelId];
        if (model.weightsHash == bytes32(0)) revert UnknownModel(modelId);
        return _fee(model, adapterCount, maxTokens, callbackGasLimit);
    }

    /// @inheritdoc IInferenceCoordinator
    function computeResultCommitment(uint256 requestId, InferenceRequest calldata request, bytes calldata output)
        public
        view
        returns (bytes32)
    {
        Model storage model = models[request.modelId];
        return keccak256(
            abi.encode(
                requestId,
                request.modelId,
                model.weightsHash,
                keccak256(bytes(model.profile)),
                keccak256(abi.encode(request.adapters)),
                keccak256(request.prompt),
                request.maxTokens,
                request.temperature,
                request.topP,
                request.seed,
                keccak256(output)
            )
        );
    }

    // ---------------------------------------------------------------- request lifecycle

    /// @inheritdoc IInferenceCoordinator
    function requestInference(
        bytes32 modelId,
        Adapter[] calldata adapters,
        bytes calldata prompt,
        PromptFormat promptFormat,
        uint32 maxTokens,
        uint32 temperature,
        uint32 topP,
        uint64 seed,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable nonReentrant whenNotPaused returns (uint256 requestId) {
        uint256 fee = _validateRequest(modelId, adapters, prompt, maxTokens, topP, callbackGasLimit, deadline);
        if (msg.value < fee) revert InsufficientFee(fee, msg.value);

        // Filled field by field: a single struct literal with 14 fields does not fit the legacy stack.
        InferenceRequest memory request;
        request.consumer = msg.sender;
        request.modelId = modelId;
        request.adapters = adapters;
        request.prompt = prompt;
        request.promptFormat = promptFormat;
        request.maxTokens = maxTokens;
        request.temperature = temperature;
        request.topP = topP;
        request.seed = seed;
        request.callbackGasLimit = callbackGasLimit;
        request.deadline = deadline;
        request.fee = SafeCast.toUint96(fee);
        requestId = _commit(request);

        if (msg.value > fee) {
            uint256 excess = msg.value - fee;
            (bool sent,) = payable(msg.sender).call{value: excess}("");
            if (!sent) revert RefundFailed(msg.sender, excess);
        }
    }

    /// @inheritdoc IInferenceCoordinator
    function fulfill(uint256 requestId, InferenceRequest calldata request, bytes calldata output, bytes32 resultCommitment)
        external
        nonReentrant
        onlyServingOracle(request)
    {
        if (turns[requestId].sessionId != 0) revert SessionTurnNeedsHead(requestId);
        _fulfill(requestId, request, output, resultCommitment);
    }

    /// @inheritdoc IInferenceSessions
    function fulfillTurn(
        uint256 requestId,
        InferenceRequest calldata request,
        bytes calldata output,
        bytes32 resultCommitment,
        bytes32 head,
        bytes calldata snapshotCid
    ) external nonReentrant onlyServingOracle(request) {
        Turn memory turn = turns[requestId];
        if (turn.sessionId == 0) revert NotASessionTurn(requestId);
        if (turn.index > 0 && !turnEnded[turn.sessionId][turn.index - 1]) {
            revert PreviousTurnPending(turn.sessionId, turn.index);
        }
        if (head == bytes32(0)) revert InvalidHead();
        if (snapshotCid.length != 0 && !CidBytes.isValid(snapshotCid)) revert InvalidSnapshotCid();
        turnEnded[turn.sessionId][turn.index] = true;
        sessionHeads[turn.sessionId] = head;
        emit SessionAdvanced(turn.sessionId, turn.index, requestId, head, snapshotCid);
        _fulfill(requestId, request, output, resultCommitment);
    }

    /// @dev Checks and consumes the request, credits the oracle and calls the consumer back.
    function _fulfill(uint256 requestId, InferenceRequest calldata request, bytes calldata output, bytes32 resultCommitment)
        private
    {
        _consumeCommitment(requestId, request);
        if (block.timestamp > request.deadline) revert RequestExpired(requestId, request.deadline);
        bytes32 expected = computeResultCommitment(requestId, request, output);
        if (resultCommitment != expected) revert ResultCommitmentMismatch(expected, resultCommitment);

        credits[msg.sender] += request.fee;
        bool callbackSucceeded = _callWithExactGas(
            request.consumer,
            request.callbackGasLimit,
            abi.encodeCall(IInferenceConsumer.onInferenceResult, (requestId, output, resultCommitment))
        );
        emit InferenceFulfilled(requestId, msg.sender, keccak256(output), resultCommitment, callbackSucceeded);
    }

    /// @inheritdoc IInferenceCoordinator
    function reportFailure(uint256 requestId, InferenceRequest calldata request, uint16 code, string calldata reason)
        external
        nonReentrant
        onlyServingOracle(request)
    {
        if (code == 0 || code > FailureCodes.MAX_CODE) revert InvalidFailureCode(code);
        _consumeCommitment(requestId, request);
        _endTurn(requestId);

        credits[request.consumer] += request.fee;
        bool callbackSucceeded = _callWithExactGas(
            request.consumer,
            request.callbackGasLimit,
            abi.encodeCall(IInferenceConsumer.onInferenceFailed, (requestId, code, reason))
        );
        emit InferenceFailed(requestId, msg.sender, code, reason, callbackSucceeded);
    }

    /// @inheritdoc IInferenceCoordinator
    function cancel(uint256 requestId, InferenceRequest calldata request) external nonReentrant {
        if (msg.sender != request.consumer) revert NotConsumer(msg.sender, request.consumer);
        if (block.timestamp <= request.deadline) revert DeadlineNotPassed(request.deadline);
        _consumeCommitment(requestId, request);
        _endTurn(requestId);
        credits[request.consumer] += request.fee;
        emit InferenceCancelled(requestId);
    }

    // ---------------------------------------------------------------- sessions

    /// @inheritdoc IInferenceSessions
    function openSession(bytes32 modelId, Adapter[] calldata adapters, uint32 temperature, uint32 topP, uint64 seed)
        external
        whenNotPaused
        returns (uint256 sessionId)
    {
        Model storage model = models[modelId];
        if (model.weightsHash == bytes32(0)) revert UnknownModel(modelId);
        if (!model.enabled) revert ModelDisabled(modelId);
        _validateAdapters(adapters);
        if (topP == 0 || topP > 1e4) revert InvalidTopP(topP);
        sessionId = uint256(keccak256(abi.encode(block.chainid, address(this), msg.sender, "session", _sessionNonce++)));
        sessions[sessionId] =
            Session(msg.sender, modelId, keccak256(abi.encode(adapters)), temperature, topP, seed, 0);
        emit SessionOpened(sessionId, msg.sender, modelId, adapters, temperature, topP, seed);
    }

    /// @inheritdoc IInferenceSessions
    function requestTurn(
        uint256 sessionId,
        Adapter[] calldata adapters,
        bytes calldata prompt,
        PromptFormat promptFormat,
        uint32 maxTokens,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable nonReentrant whenNotPaused returns (uint256 requestId) {
        Session storage session = sessions[sessionId];
        if (session.consumer == address(0)) revert UnknownSession(sessionId);
        if (session.consumer != msg.sender) revert NotSessionConsumer(msg.sender, session.consumer);
        if (keccak256(abi.encode(adapters)) != session.adaptersHash) revert SessionAdaptersMismatch(sessionId);
        uint256 fee =
            _validateRequest(session.modelId, adapters, prompt, maxTokens, session.topP, callbackGasLimit, deadline);
        if (msg.value < fee) revert InsufficientFee(fee, msg.value);

        InferenceRequest memory request;
        request.consumer = msg.sender;
        request.modelId = session.modelId;
        request.adapters = adapters;
        request.prompt = prompt;
        request.promptFormat = promptFormat;
        request.maxTokens = maxTokens;
        request.temperature = session.temperature;
        request.topP = session.topP;
        request.seed = session.seed;
        request.callbackGasLimit = callbackGasLimit;
        request.deadline = deadline;
        request.fee = SafeCast.toUint96(fee);
        requestId = _commit(request);
        uint32 index = session.turns++;
        turns[requestId] = Turn(sessionId, index);
        emit SessionTurnRequested(sessionId, index, requestId);

        if (msg.value > fee) {
            uint256 excess = msg.value - fee;
            (bool sent,) = payable(msg.sender).call{value: excess}("");
            if (!sent) revert RefundFailed(msg.sender, excess);
        }
    }

    /// @inheritdoc IInferenceSessions
    function computeSessionHead(bytes32 modelId, Adapter[] calldata adapters, uint32[] calldata tokens)
        external
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(keccak256(bytes(models[modelId].profile)), keccak256(abi.encode(adapters)), keccak256(abi.encode(tokens)))
        );
    }

    /// @inheritdoc IInferenceCoordinator
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool sent,) = payable(msg.sender).call{value: amount}("");
        if (!sent) revert WithdrawFailed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Validates a new request against the model and the limits and returns its fee.
    function _validateRequest(
        bytes32 modelId,
        Adapter[] calldata adapters,
        bytes calldata prompt,
        uint32 maxTokens,
        uint32 topP,
        uint32 callbackGasLimit,
        uint64 deadline
    ) private view returns (uint256 fee) {
        Model storage model = models[modelId];
        if (model.weightsHash == bytes32(0)) revert UnknownModel(modelId);
        if (!model.enabled) revert ModelDisabled(modelId);
        _validateAdapters(adapters);
        if (prompt.length == 0) revert EmptyPrompt();
        if (prompt.length > maxPromptBytes) revert PromptTooLong(prompt.length, maxPromptBytes);
        if (maxTokens == 0 || maxTokens > model.maxTokens) revert InvalidMaxTokens(maxTokens, model.maxTokens);
        if (topP == 0 || topP > 1e4) revert InvalidTopP(topP);
        if (callbackGasLimit > maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, maxCallbackGasLimit);
        }
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline);
        if (_oracles.length() == 0) revert NoOracles();
        fee = _fee(model, adapters.length, maxTokens, callbackGasLimit);
    }

    /// @dev The fee schedule of `model`; the callback part pays the oracle for the gas it forwards to the consumer.
    function _fee(Model storage model, uint256 adapterCount, uint32 maxTokens, uint32 callbackGasLimit)
        private
        view
        returns (uint256)
    {
        return uint256(model.baseFee) + uint256(model.feePerToken) * maxTokens
            + uint256(model.feePerAdapter) * adapterCount + uint256(model.callbackGasPrice) * callbackGasLimit;
    }

    /// @dev Assigns the request id and oracle, stores the commitment and emits the request.
    function _commit(InferenceRequest memory request) private returns (uint256 requestId) {
        uint64 sequence = _nonce++;
        requestId = uint256(keccak256(abi.encode(block.chainid, address(this), msg.sender, sequence)));
        // Round-robin in request order, so load spreads evenly whatever the ids hash to.
        request.assignedOracle = _oracles.at(sequence % _oracles.length());
        request.exclusiveUntil = SafeCast.toUint64(block.timestamp + exclusiveWindow);
        commitments[requestId] = keccak256(abi.encode(request));
        emit InferenceRequested(requestId, request.consumer, request.modelId, request);
    }

    function _validateAdapters(Adapter[] calldata adapters) private view {
        uint256 count = adapters.length;
        if (count == 0) revert NoAdapters();
        if (count > maxAdapters) revert TooManyAdapters(count, maxAdapters);
        for (uint256 i = 0; i < count; ++i) {
            if (!CidBytes.isValid(adapters[i].cid)) revert InvalidCid(i);
            if (adapters[i].weight == 0) revert ZeroAdapterWeight(i);
        }
    }

    /// @dev Checks that `request` is the pending request `requestId` and deletes its commitment, so each request
    /// ends exactly once (fulfilled, failed or cancelled).
    function _consumeCommitment(uint256 requestId, InferenceRequest calldata request) private {
        bytes32 stored = commitments[requestId];
        if (stored == bytes32(0)) revert RequestNotPending(requestId);
        if (keccak256(abi.encode(request)) != stored) revert CommitmentMismatch(requestId);
        delete commitments[requestId];
    }

    /// @dev Marks a session turn ended (failed or cancelled), so the session's next turn can be served.
    function _endTurn(uint256 requestId) private {
        Turn memory turn = turns[requestId];
        if (turn.sessionId != 0) turnEnded[turn.sessionId][turn.index] = true;
    }

    /// @dev Calls `target` with exactly `gasAmount` gas and ignores its return data (no copy, so a huge revert
    /// reason cannot burn the caller's gas). Reverts when the 63/64 rule would hand the callee less than
    /// `gasAmount`, so the transaction sender cannot starve the callback by choosing a low gas limit.
    function _callWithExactGas(address target, uint256 gasAmount, bytes memory data) private returns (bool success) {
        // Calling an account without code "succeeds"; report it as a failed callback instead.
        if (target.code.length == 0) return false;
        uint256 available = gasleft();
        if (available < CALLBACK_GAS_OVERHEAD) revert InsufficientGasForCallback(gasAmount, available);
        unchecked {
            available -= CALLBACK_GAS_OVERHEAD;
        }
        if (available - available / 64 <= gasAmount) revert InsufficientGasForCallback(gasAmount, available);
        assembly ("memory-safe") {
            success := call(gasAmount, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
    }
}
