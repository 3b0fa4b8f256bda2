// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IInferenceCoordinator
/// @notice On-chain side of the Loracle LoRA inference oracle: consumers pay for a request, registered oracles
/// serve it off-chain and deliver the output through `fulfill`, or refund it through `reportFailure`.
/// @dev Only a commitment (keccak256 of the ABI-encoded request) is stored; the full request travels in the
/// `InferenceRequested` event and is passed back by the caller of `fulfill`, `reportFailure` and `cancel`.
interface IInferenceCoordinator {
    /// @notice A LoRA adapter applied on top of the base model.
    /// @param cid Binary IPFS CID of the adapter file (see `CidBytes`).
    /// @param weight Signed scale in fixed point, 1e4 = 1.0; never zero.
    struct Adapter {
        bytes cid;
        int32 weight;
    }

    /// @notice How a request's prompt is written: plain text, or a JSON list of chat messages
    /// (`[{"role":"user","content":"..."}]`, roles system/user/assistant) that the oracle renders with the model's chat
    /// template. An oracle fails a malformed chat prompt with PROMPT_INVALID.
    enum PromptFormat {
        Raw,
        Chat
    }

    /// @notice Everything an oracle needs to serve a request; committed to at request time.
    /// @dev Fixed-point fields use 1e4 = 1.0. `assignedOracle` has the exclusive right to serve the request while
    /// `block.timestamp <= exclusiveUntil`; afterwards any registered oracle may. Oracles are assigned round-robin
    /// in request order: the n-th request (counting from 0) goes to `oracleAt(n % oracleCount())`.
    struct InferenceRequest {
        address consumer;
        bytes32 modelId;
        Adapter[] adapters;
        bytes prompt;
        PromptFormat promptFormat;
        uint32 maxTokens;
        uint32 temperature;
        uint32 topP;
        uint64 seed;
        uint32 callbackGasLimit;
        uint64 deadline;
        uint96 fee;
        address assignedOracle;
        uint64 exclusiveUntil;
    }

    /// @notice A registered base model, the numeric profile its outputs are computed with, and its fee schedule.
    /// @dev `profile` names what besides the weights decides the output bits, e.g.
    /// "quant=Q8_0;attach=MERGED;kv=F32": oracles refuse to serve a model whose profile they do not run, and the
    /// result commitment binds it, so a verifier knows exactly how to re-execute a request.
    struct Model {
        bytes32 weightsHash;
        uint96 baseFee;
        uint96 feePerToken;
        uint96 feePerAdapter;
        uint96 callbackGasPrice;
        uint32 maxTokens;
        bool enabled;
        string uri;
        string profile;
    }

    // ---------------------------------------------------------------- events

    /// @notice A model was registered (enabled) with its weights hash and fee schedule.
    event ModelRegistered(
        bytes32 indexed modelId,
        bytes32 weightsHash,
        string profile,
        string uri,
        uint96 baseFee,
        uint96 feePerToken,
        uint96 feePerAdapter,
        uint96 callbackGasPrice,
        uint32 maxTokens
    );
    /// @notice The wei per callback gas unit charged for a model changed.
    event CallbackGasPriceSet(bytes32 indexed modelId, uint96 callbackGasPrice);
    /// @notice New requests for a model were enabled or disabled.
    event ModelEnabledSet(bytes32 indexed modelId, bool enabled);
    /// @notice An oracle joined the serving set.
    event OracleAdded(address indexed oracle);
    /// @notice An oracle left the serving set.
    event OracleRemoved(address indexed oracle);
    /// @notice Request limits or the exclusive window changed.
    event LimitsSet(uint32 maxAdapters, uint32 maxPromptBytes, uint32 maxCallbackGasLimit, uint32 exclusiveWindow);
    /// @notice A request was paid for; `request` is everything the oracle needs (it never reads storage).
    event InferenceRequested(
        uint256 indexed requestId, address indexed consumer, bytes32 indexed modelId, InferenceRequest request
    );
    /// @notice A request was served; the fee was credited to `oracle`. `callbackSucceeded` is false when the
    /// consumer's callback reverted or ran out of gas.
    event InferenceFulfilled(
        uint256 indexed requestId,
        address indexed oracle,
        bytes32 outputHash,
        bytes32 resultCommitment,
        bool callbackSucceeded
    );
    /// @notice An oracle reported a failure; the fee was credited back to the consumer.
    event InferenceFailed(
        uint256 indexed requestId, address indexed oracle, uint16 code, string reason, bool callbackSucceeded
    );
    /// @notice The consumer cancelled an expired request; the fee was credited back to it.
    event InferenceCancelled(uint256 indexed requestId);
    /// @notice `account` withdrew its credits.
    event Withdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    error ZeroAddress();
    error InvalidWeightsHash();
    error InvalidLimits();
    error ModelAlreadyRegistered(bytes32 modelId);
    error UnknownModel(bytes32 modelId);
    error ModelDisabled(bytes32 modelId);
    error OracleAlreadyRegistered(address oracle);
    error UnknownOracle(address oracle);
    error NoOracles();
    error NoAdapters();
    error TooManyAdapters(uint256 count, uint256 max);
    error InvalidCid(uint256 index);
    error ZeroAdapterWeight(uint256 index);
    error EmptyPrompt();
    error EmptyProfile();
    error PromptTooLong(uint256 length, uint256 max);
    error InvalidMaxTokens(uint32 maxTokens, uint32 modelMax);
    error InvalidTopP(uint32 topP);
    error CallbackGasLimitTooHigh(uint32 callbackGasLimit, uint32 max);
    error DeadlineNotInFuture(uint64 deadline);
    error InsufficientFee(uint256 required, uint256 provided);
    error RefundFailed(address to, uint256 amount);
    error NotOracle(address caller);
    error NotAssignedOracle(address caller, address assignedOracle, uint64 exclusiveUntil);
    error RequestNotPending(uint256 requestId);
    error CommitmentMismatch(uint256 requestId);
    error RequestExpired(uint256 requestId, uint64 deadline);
    error ResultCommitmentMismatch(bytes32 expected, bytes32 provided);
    error InvalidFailureCode(uint16 code);
    error NotConsumer(address caller, address consumer);
    error DeadlineNotPassed(uint64 deadline);
    error InsufficientGasForCallback(uint256 callbackGasLimit, uint256 available);
    error NothingToWithdraw();
    error WithdrawFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- model registry

    /// @notice Registers a base model (owner only). The model starts enabled.
    /// @param modelId Identifier, by convention keccak256 of the model name (e.g. "stories260K").
    /// @param weightsHash sha256 (or other agreed digest) of the weights file the oracle must run.
    /// @param profile Numeric profile the outputs are computed with (quantization, attach mode, KV type); not empty.
    /// @param uri Where the weights can be obtained (informational).
    /// @param baseFee Flat fee per request, in wei.
    /// @param feePerToken Fee per requested output token, in wei.
    /// @param feePerAdapter Fee per adapter, in wei.
    /// @param callbackGasPrice Wei charged per unit of `callbackGasLimit` (the oracle pays the callback's gas).
    /// @param maxTokens Largest `maxTokens` a request may ask for.
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
    ) external;

    /// @notice Sets the wei charged per unit of callback gas for a model (owner only), e.g. when gas prices move.
    /// @param modelId A registered model.
    /// @param callbackGasPrice Wei per gas unit of `callbackGasLimit`.
    function setCallbackGasPrice(bytes32 modelId, uint96 callbackGasPrice) external;

    /// @notice Enables or disables new requests for a model (owner only).
    /// @param modelId A registered model.
    /// @param enabled False rejects new requests; pending ones can still be served.
    function setModelEnabled(bytes32 modelId, bool enabled) external;

    // ---------------------------------------------------------------- oracle registry

    /// @notice Adds an oracle to the serving set (owner only).
    /// @param oracle Address the oracle node sends transactions from.
    function addOracle(address oracle) external;

    /// @notice Removes an oracle from the serving set (owner only); its credits stay withdrawable.
    /// @param oracle A registered oracle.
    function removeOracle(address oracle) external;

    /// @notice Whether `account` is a registered oracle.
    /// @param account Address to check.
    /// @return True when registered.
    function isOracle(address account) external view returns (bool);

    /// @notice Number of registered oracles.
    /// @return The size of the serving set.
    function oracleCount() external view returns (uint256);

    /// @notice The registered oracle at `index` (order changes when oracles are removed).
    /// @param index Position in 0..oracleCount()-1.
    /// @return The oracle address.
    function oracleAt(uint256 index) external view returns (address);

    /// @notice Most adapters a request may carry.
    /// @return The limit.
    function maxAdapters() external view returns (uint32);

    /// @notice Longest prompt in bytes.
    /// @return The limit.
    function maxPromptBytes() external view returns (uint32);

    /// @notice Highest callbackGasLimit a request may ask for.
    /// @return The limit.
    function maxCallbackGasLimit() external view returns (uint32);

    /// @notice Seconds during which only the assigned oracle may serve a request.
    /// @return The window.
    function exclusiveWindow() external view returns (uint32);

    // ---------------------------------------------------------------- requests

    /// @notice The fee for a request: baseFee + feePerToken * maxTokens + feePerAdapter * adapterCount
    /// + callbackGasPrice * callbackGasLimit. The last part pays the oracle for the callback gas it forwards.
    /// @param modelId A registered model (need not be enabled).
    /// @param adapterCount Number of adapters.
    /// @param maxTokens Requested output tokens.
    /// @param callbackGasLimit Gas the consumer's callback is given.
    /// @return fee The fee in wei.
    function quoteFee(bytes32 modelId, uint256 adapterCount, uint32 maxTokens, uint32 callbackGasLimit)
        external
        view
        returns (uint256 fee);

    /// @notice Pays for and emits an inference request; `msg.sender` becomes the consumer that gets the callback.
    /// @dev Takes `quoteFee(...)` into escrow and sends any excess back to `msg.sender` in the same call (the call
    /// reverts with `RefundFailed` if that transfer fails). Stores only the request's commitment.
    /// @param modelId A registered, enabled model.
    /// @param adapters 1..maxAdapters adapters with valid CIDs and nonzero weights.
    /// @param prompt 1..maxPromptBytes bytes of UTF-8 text.
    /// @param promptFormat Raw text or a JSON list of chat messages.
    /// @param maxTokens 1..model maxTokens.
    /// @param temperature Fixed point 1e4 = 1.0; 0 means greedy decoding.
    /// @param topP Fixed point in (0, 1e4].
    /// @param seed Sampling seed; the same request with the same seed gives the same output.
    /// @param callbackGasLimit Gas for the consumer callback, at most maxCallbackGasLimit.
    /// @param deadline Unix time after which the request can no longer be fulfilled and may be cancelled.
    /// @return requestId keccak256(abi.encode(chainid, coordinator, consumer, nonce)).
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
    ) external payable returns (uint256 requestId);

    /// @notice Delivers the output of a pending request (registered oracles only, see `assignedOracle`).
    /// @dev Credits the fee to the oracle, then calls the consumer's `onInferenceResult` with exactly
    /// `callbackGasLimit` gas. Reverts with `InsufficientGasForCallback` when the transaction cannot give the
    /// callback that much gas; a reverting callback does not revert the fulfilment.
    /// @param requestId The pending request.
    /// @param request The request exactly as emitted in `InferenceRequested`.
    /// @param output Generated text (UTF-8 bytes).
    /// @param resultCommitment Must equal `computeResultCommitment(...)` for this request and output.
    function fulfill(uint256 requestId, InferenceRequest calldata request, bytes calldata output, bytes32 resultCommitment)
        external;

    /// @notice Reports that a pending request cannot be served (registered oracles only, see `assignedOracle`).
    /// @dev Credits the fee back to the consumer (withdraw with `withdraw()`), then calls its `onInferenceFailed`
    /// with exactly `callbackGasLimit` gas. Allowed after the deadline too.
    /// @param requestId The pending request.
    /// @param request The request exactly as emitted in `InferenceRequested`.
    /// @param code A `FailureCodes` constant (1..10).
    /// @param reason Human-readable detail.
    function reportFailure(uint256 requestId, InferenceRequest calldata request, uint16 code, string calldata reason)
        external;

    /// @notice Cancels a request nobody served before its deadline and credits its fee back to the consumer.
    /// @param requestId The pending request.
    /// @param request The request exactly as emitted in `InferenceRequested`; `msg.sender` must be its consumer.
    function cancel(uint256 requestId, InferenceRequest calldata request) external;

    /// @notice Sends the caller's credits (oracle fees, refunds) to the caller.
    function withdraw() external;

    /// @notice Withdrawable balance of `account`.
    /// @param account Oracle or consumer.
    /// @return The amount in wei.
    function credits(address account) external view returns (uint256);

    /// @notice Whether `requestId` is waiting to be fulfilled, failed or cancelled.
    /// @param requestId Any id.
    /// @return True while its commitment is stored.
    function isPending(uint256 requestId) external view returns (bool);

    /// @notice The commitment a result must carry:
    /// keccak256(abi.encode(requestId, modelId, weightsHash, keccak256(bytes(profile)), keccak256(abi.encode(adapters)),
    /// keccak256(prompt), maxTokens, temperature, topP, seed, keccak256(output))), with the model's registered
    /// weights hash and profile. It binds everything that decides the output bits, so anyone can re-execute it.
    /// @param requestId The request.
    /// @param request The request as emitted in `InferenceRequested`.
    /// @param output Generated text (UTF-8 bytes).
    /// @return The result commitment.
    function computeResultCommitment(uint256 requestId, InferenceRequest calldata request, bytes calldata output)
        external
        view
        returns (bytes32);
}
