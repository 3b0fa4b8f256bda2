// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";

import {InferenceConsumer} from "../InferenceConsumer.sol";
import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";

/// @title ChatBot
/// @notice Example dApp: one multi-turn conversation per user on a coordinator session. A user starts a chat (model
/// and persona adapters fixed), then says things; each message is one session turn and the bot's replies are kept
/// in order. The oracle sees only the new message per turn: the history lives on-chain and in its KV cache.
contract ChatBot is InferenceConsumer {
    /// @notice Sampling of every reply (1e4 = 1.0).
    uint32 public constant TEMPERATURE = 7_000;
    uint32 public constant TOP_P = 9_000;
    /// @notice Callback gas: a fixed part plus a per-token part covering storage of the reply.
    uint32 public constant CALLBACK_BASE_GAS = 120_000;
    uint32 public constant CALLBACK_GAS_PER_TOKEN = 4_000;
    /// @notice Seconds an oracle has to answer a message.
    uint64 public constant REPLY_TIMEOUT = 1 hours;

    struct Chat {
        uint256 sessionId;
        IInferenceCoordinator.Adapter[] adapters;
        string[] messages;
        string[] replies;
    }

    mapping(address user => Chat) private _chats;
    /// @notice Which user and which message a pending request answers.
    mapping(uint256 requestId => address user) public requester;
    mapping(uint256 requestId => uint256 index) public messageIndex;

    event ChatStarted(address indexed user, uint256 indexed sessionId);
    event MessageSent(address indexed user, uint256 indexed requestId, uint256 index, string message);
    event Replied(address indexed user, uint256 indexed requestId, uint256 index, string reply);
    event ReplyFailed(address indexed user, uint256 indexed requestId, uint16 code, string reason);

    error NoChat(address user);
    error NotRequester(address caller);
    error InsufficientPayment(uint256 required, uint256 provided);

    constructor(IInferenceCoordinator coordinator_) InferenceConsumer(coordinator_) {}

    /// @notice Starts (or restarts) the caller's chat on `modelId` with persona adapters.
    function startChat(bytes32 modelId, IInferenceCoordinator.Adapter[] calldata persona, uint64 seed)
        external
        returns (uint256 sessionId)
    {
        sessionId = _openSession(modelId, persona, TEMPERATURE, TOP_P, seed);
        Chat storage chat = _chats[msg.sender];
        chat.sessionId = sessionId;
        delete chat.adapters;
        for (uint256 i = 0; i < persona.length; ++i) chat.adapters.push(persona[i]);
        delete chat.messages;
        delete chat.replies;
        emit ChatStarted(msg.sender, sessionId);
    }

    /// @notice The fee of one message with replies of up to `maxTokens` tokens.
    function quoteMessage(bytes32 modelId, uint256 adapterCount, uint32 maxTokens) external view returns (uint256) {
        return coordinator.quoteFee(modelId, adapterCount, maxTokens, _callbackGas(maxTokens));
    }

    /// @notice Says `message` in the caller's chat; pays the coordinator's quote, returns any excess.
    function say(string calldata message, uint32 maxTokens) external payable returns (uint256 requestId) {
        Chat storage chat = _chats[msg.sender];
        if (chat.sessionId == 0) revert NoChat(msg.sender);
        uint32 callbackGas = _callbackGas(maxTokens);
        (, bytes32 modelId,,,,,) = sessions().sessions(chat.sessionId);
        uint256 fee = coordinator.quoteFee(modelId, chat.adapters.length, maxTokens, callbackGas);
        if (msg.value < fee) revert InsufficientPayment(fee, msg.value);
        requestId = _continueSession(fee, chat.sessionId, chat.adapters, bytes(message),
            IInferenceCoordinator.PromptFormat.Raw, maxTokens, callbackGas, uint64(block.timestamp) + REPLY_TIMEOUT);
        requester[requestId] = msg.sender;
        messageIndex[requestId] = chat.messages.length;
        chat.messages.push(message);
        chat.replies.push("");
        emit MessageSent(msg.sender, requestId, chat.messages.length - 1, message);
        if (msg.value > fee) Address.sendValue(payable(msg.sender), msg.value - fee);
    }

    /// @notice Cancels the caller's unanswered message after its deadline; the fee comes back to this contract's
    /// credits and the session's next turn can be served.
    /// @param requestId The message's request id.
    /// @param request The request as emitted by the coordinator's `InferenceRequested` event.
    function cancelMessage(uint256 requestId, IInferenceCoordinator.InferenceRequest calldata request) external {
        if (requester[requestId] != msg.sender) revert NotRequester(msg.sender);
        _cancelInference(requestId, request);
    }

    /// @notice The caller-independent view of a user's conversation: session, messages and replies so far.
    function conversation(address user)
        external
        view
        returns (uint256 sessionId, string[] memory messages, string[] memory replies)
    {
        Chat storage chat = _chats[user];
        return (chat.sessionId, chat.messages, chat.replies);
    }

    function _onResult(uint256 requestId, bytes calldata output, bytes32) internal override {
        address user = requester[requestId];
        uint256 index = messageIndex[requestId];
        _chats[user].replies[index] = string(output);
        emit Replied(user, requestId, index, string(output));
    }

    function _onFailure(uint256 requestId, uint16 code, string calldata reason) internal override {
        emit ReplyFailed(requester[requestId], requestId, code, reason);
    }

    function sessions() private view returns (ISessionsView) {
        return ISessionsView(address(coordinator));
    }

    function _callbackGas(uint32 maxTokens) private view returns (uint32) {
        uint256 wanted = uint256(CALLBACK_BASE_GAS) + uint256(CALLBACK_GAS_PER_TOKEN) * maxTokens;
        uint256 cap = coordinator.maxCallbackGasLimit();
        return uint32(wanted < cap ? wanted : cap);
    }
}

/// @dev The public getter of the coordinator's `sessions` mapping.
interface ISessionsView {
    function sessions(uint256 sessionId)
        external
        view
        returns (address, bytes32, bytes32, uint32, uint32, uint64, uint32);
}
