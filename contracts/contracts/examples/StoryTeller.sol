// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";

import {InferenceConsumer} from "../InferenceConsumer.sol";
import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";

/// @title StoryTeller
/// @notice Example dApp: anyone pays for a short story written by a base model steered by style adapters; the
/// story is stored and emitted. Failed or cancelled stories can be refunded to their requester.
contract StoryTeller is InferenceConsumer {
    enum Status {
        None,
        Pending,
        Told,
        Failed,
        Cancelled,
        Refunded
    }

    struct Story {
        address requester;
        Status status;
        uint96 fee;
        string prompt;
        string story;
    }

    /// @notice Sampling temperature used for every story (1e4 = 1.0).
    uint32 public constant TEMPERATURE = 8_000;
    /// @notice Nucleus sampling threshold used for every story (1e4 = 1.0).
    uint32 public constant TOP_P = 9_000;
    /// @notice Callback gas: a fixed part plus a per-token part covering storage of the story.
    uint32 public constant CALLBACK_BASE_GAS = 100_000;
    uint32 public constant CALLBACK_GAS_PER_TOKEN = 4_000;

    /// @notice Seconds an oracle has to deliver before the requester may cancel.
    uint64 public immutable storyTimeout;

    /// @notice Stories by request id.
    mapping(uint256 requestId => Story) public stories;

    event StoryRequested(uint256 indexed requestId, address indexed requester, bytes32 indexed modelId, string prompt);
    event StoryTold(uint256 indexed requestId, address indexed requester, string story);
    event StoryFailed(uint256 indexed requestId, uint16 code, string reason);
    event StoryCancelled(uint256 indexed requestId);
    event StoryRefunded(uint256 indexed requestId, address indexed requester, uint256 amount);

    error InsufficientPayment(uint256 required, uint256 provided);
    error NotRequester(address caller);
    error NotRefundable(uint256 requestId, Status status);
    error NotPending(uint256 requestId, Status status);
    error InvalidTimeout();

    /// @param coordinator_ The InferenceCoordinator.
    /// @param storyTimeout_ Seconds after which an undelivered story may be cancelled.
    constructor(IInferenceCoordinator coordinator_, uint64 storyTimeout_) InferenceConsumer(coordinator_) {
        if (storyTimeout_ == 0) revert InvalidTimeout();
        storyTimeout = storyTimeout_;
    }

    /// @notice The price of a story: the coordinator's quote for these adapters and tokens (callback gas included).
    /// @param modelId A registered model.
    /// @param adapterCount Number of style adapters.
    /// @param maxTokens Story length in tokens.
    /// @return The fee in wei.
    function quoteStory(bytes32 modelId, uint256 adapterCount, uint32 maxTokens) external view returns (uint256) {
        return coordinator.quoteFee(modelId, adapterCount, maxTokens, _callbackGas(maxTokens));
    }

    /// @notice Asks for a story; pays the coordinator's quote and returns any excess to the caller.
    /// @param modelId A registered, enabled model.
    /// @param styleAdapters LoRA adapters steering the style (1..maxAdapters).
    /// @param prompt Opening of the story (raw text the model continues).
    /// @param maxTokens Story length in tokens.
    /// @param seed Sampling seed (same seed, same story).
    /// @return requestId The coordinator's request id.
    function tellStory(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata styleAdapters,
        string calldata prompt,
        uint32 maxTokens,
        uint64 seed
    ) external payable returns (uint256 requestId) {
        return _tell(modelId, styleAdapters, prompt, IInferenceCoordinator.PromptFormat.Raw, maxTokens, seed);
    }

    /// @notice `tellStory` for a chat (instruction-tuned) model: the oracle renders `messages` with the model's chat
    /// template and the story is the assistant's reply.
    /// @param messages A JSON list of chat messages, e.g. [{"role":"user","content":"Tell me a story."}].
    /// @return requestId The coordinator's request id.
    function tellChatStory(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata styleAdapters,
        string calldata messages,
        uint32 maxTokens,
        uint64 seed
    ) external payable returns (uint256 requestId) {
        return _tell(modelId, styleAdapters, messages, IInferenceCoordinator.PromptFormat.Chat, maxTokens, seed);
    }

    function _tell(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata styleAdapters,
        string calldata prompt,
        IInferenceCoordinator.PromptFormat promptFormat,
        uint32 maxTokens,
        uint64 seed
    ) private returns (uint256 requestId) {
        uint32 callbackGas = _callbackGas(maxTokens);
        uint256 fee = coordinator.quoteFee(modelId, styleAdapters.length, maxTokens, callbackGas);
        if (msg.value < fee) revert InsufficientPayment(fee, msg.value);
        requestId = _requestInference(
            fee,
            modelId,
            styleAdapters,
            bytes(prompt),
            promptFormat,
            maxTokens,
            TEMPERATURE,
            TOP_P,
            seed,
            callbackGas,
            uint64(block.timestamp) + storyTimeout
        );
        stories[requestId] = Story(msg.sender, Status.Pending, uint96(fee), prompt, "");
        emit StoryRequested(requestId, msg.sender, modelId, prompt);
        if (msg.value > fee) Address.sendValue(payable(msg.sender), msg.value - fee);
    }

    /// @notice Cancels a story nobody delivered before its deadline (requester only); then `claimRefund`.
    /// @param requestId The story's request id.
    /// @param request The request as emitted by the coordinator's `InferenceRequested` event.
    function cancelStory(uint256 requestId, IInferenceCoordinator.InferenceRequest calldata request) external {
        Story storage story = stories[requestId];
        if (story.requester != msg.sender) revert NotRequester(msg.sender);
        if (story.status != Status.Pending) revert NotPending(requestId, story.status);
        story.status = Status.Cancelled;
        _cancelInference(requestId, request);
        emit StoryCancelled(requestId);
    }

    /// @notice Pays the fee of a failed or cancelled story back to its requester.
    /// @param requestId The story's request id.
    function claimRefund(uint256 requestId) external {
        Story storage story = stories[requestId];
        if (story.requester != msg.sender) revert NotRequester(msg.sender);
        if (story.status != Status.Failed && story.status != Status.Cancelled) {
            revert NotRefundable(requestId, story.status);
        }
        story.status = Status.Refunded;
        uint256 amount = story.fee;
        if (address(this).balance < amount) _withdrawCredits();
        emit StoryRefunded(requestId, msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    function _onResult(uint256 requestId, bytes calldata output, bytes32) internal override {
        Story storage story = stories[requestId];
        story.status = Status.Told;
        story.story = string(output);
        emit StoryTold(requestId, story.requester, string(output));
    }

    function _onFailure(uint256 requestId, uint16 code, string calldata reason) internal override {
        stories[requestId].status = Status.Failed;
        emit StoryFailed(requestId, code, reason);
    }

    function _callbackGas(uint32 maxTokens) private view returns (uint32) {
        uint256 wanted = uint256(CALLBACK_BASE_GAS) + uint256(CALLBACK_GAS_PER_TOKEN) * maxTokens;
        uint256 cap = coordinator.maxCallbackGasLimit();
        return uint32(wanted < cap ? wanted : cap);
    }
}
