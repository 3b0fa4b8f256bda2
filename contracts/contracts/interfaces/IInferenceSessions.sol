// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceCoordinator} from "./IInferenceCoordinator.sol";

/// @title IInferenceSessions
/// @notice Multi-turn sessions on the coordinator: a consumer opens a session that fixes the model, the adapter set
/// and the sampling profile for its life, then sends turns naming it. Each turn is an ordinary request (same fee,
/// events, deadline, refund paths) whose prompt is the turn's new message; the session's token history is the
/// concatenation of its fulfilled turns' prompts and outputs, reconstructible from chain data alone.
/// @dev Turns are served in order: `fulfillTurn` for turn n needs turn n-1 ended (fulfilled, failed or cancelled).
/// A turn stuck behind an unserved predecessor waits, or is failed (DEADLINE_EXCEEDED) or cancelled after its
/// deadline and refunded like any request. A session too long for the model's context fails its turn with
/// CONTEXT_OVERFLOW (refunded). Each fulfilment records the session's new head and the CID of the turn's KV snapshot.
interface IInferenceSessions {
    /// @notice A session's fixed parameters and its turn counter.
    struct Session {
        address consumer;
        bytes32 modelId;
        bytes32 adaptersHash;
        uint32 temperature;
        uint32 topP;
        uint64 seed;
        uint32 turns;
    }

    /// @notice Which session turn a request is (sessionId 0: not a session turn).
    struct Turn {
        uint256 sessionId;
        uint32 index;
    }

    /// @notice A session was opened with everything fixed for its life.
    event SessionOpened(
        uint256 indexed sessionId,
        address indexed consumer,
        bytes32 indexed modelId,
        IInferenceCoordinator.Adapter[] adapters,
        uint32 temperature,
        uint32 topP,
        uint64 seed
    );
    /// @notice Turn `turn` of a session was requested as `requestId` (see `InferenceRequested` for the request).
    event SessionTurnRequested(uint256 indexed sessionId, uint32 turn, uint256 indexed requestId);
    /// @notice Turn `turn` was fulfilled; `head` commits to the session's full token sequence after it and
    /// `snapshotCid` names the KV snapshot of the rows it added (empty when the oracle published none).
    event SessionAdvanced(
        uint256 indexed sessionId, uint32 turn, uint256 indexed requestId, bytes32 head, bytes snapshotCid
    );

    error UnknownSession(uint256 sessionId);
    error NotSessionConsumer(address caller, address consumer);
    error SessionAdaptersMismatch(uint256 sessionId);
    error PreviousTurnPending(uint256 sessionId, uint32 turn);
    error NotASessionTurn(uint256 requestId);
    error SessionTurnNeedsHead(uint256 requestId);
    error InvalidHead();
    error InvalidSnapshotCid();

    /// @notice Opens a session for `msg.sender` (the consumer that will send its turns and get the callbacks).
    /// @param modelId A registered, enabled model.
    /// @param adapters 1..maxAdapters adapters, fixed for the session (each turn passes them again; they must match).
    /// @param temperature Fixed point 1e4 = 1.0; 0 = greedy.
    /// @param topP Fixed point in (0, 1e4].
    /// @param seed Sampling seed of every turn.
    /// @return sessionId keccak256(abi.encode(chainid, coordinator, consumer, "session", nonce)).
    function openSession(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata adapters,
        uint32 temperature,
        uint32 topP,
        uint64 seed
    ) external returns (uint256 sessionId);

    /// @notice Pays for and emits the session's next turn (session consumer only); fee as `quoteFee`.
    /// @param sessionId An open session of `msg.sender`.
    /// @param adapters The session's adapters, exactly as opened.
    /// @param prompt The turn's new message (the history is not repeated).
    /// @param promptFormat Raw text or a JSON list of chat messages (the new ones).
    /// @param maxTokens 1..model maxTokens.
    /// @param callbackGasLimit Gas for the consumer callback.
    /// @param deadline Unix time after which the turn can no longer be fulfilled.
    /// @return requestId The turn's request id.
    function requestTurn(
        uint256 sessionId,
        IInferenceCoordinator.Adapter[] calldata adapters,
        bytes calldata prompt,
        IInferenceCoordinator.PromptFormat promptFormat,
        uint32 maxTokens,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (uint256 requestId);

    /// @notice Delivers a session turn's output, like `fulfill`, and records the session's new head.
    /// @param requestId A pending session turn whose predecessor has ended.
    /// @param request The request as emitted in `InferenceRequested`.
    /// @param output Generated text.
    /// @param resultCommitment As for `fulfill`.
    /// @param head `computeSessionHead(modelId, adapters, tokens)` over the session's full token sequence after
    /// this turn (prompts and outputs of every fulfilled turn, as the oracle tokenized them); nonzero.
    /// @param snapshotCid Binary CID of the turn's KV snapshot, or empty.
    function fulfillTurn(
        uint256 requestId,
        IInferenceCoordinator.InferenceRequest calldata request,
        bytes calldata output,
        bytes32 resultCommitment,
        bytes32 head,
        bytes calldata snapshotCid
    ) external;

    /// @notice keccak256(abi.encode(keccak256(bytes(profile)), keccak256(abi.encode(adapters)), keccak256(abi.encode(tokens))))
    /// with the model's registered profile: the commitment a session head carries.
    /// @param modelId A registered model.
    /// @param adapters The session's adapters.
    /// @param tokens The session's full token sequence.
    /// @return The head.
    function computeSessionHead(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata adapters,
        uint32[] calldata tokens
    ) external view returns (bytes32);
}
