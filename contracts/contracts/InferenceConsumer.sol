// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceCoordinator} from "./interfaces/IInferenceCoordinator.sol";
import {IInferenceSessions} from "./interfaces/IInferenceSessions.sol";

/// @title InferenceConsumer
/// @notice Base for dApp contracts that request inferences: keeps the coordinator, forwards requests and accepts
/// callbacks from the coordinator only. Implement `_onResult` and `_onFailure`.
/// @dev Refunds (failure, cancel) are credited to this contract inside the coordinator; `_withdrawCredits()`
/// pulls them here, so a contract that uses it must be able to receive ether (see `receive` below).
abstract contract InferenceConsumer is IInferenceConsumer {
    /// @notice The coordinator this consumer talks to.
    IInferenceCoordinator public immutable coordinator;

    error OnlyCoordinator(address caller);
    error ZeroCoordinator();

    modifier onlyCoordinator() {
        if (msg.sender != address(coordinator)) revert OnlyCoordinator(msg.sender);
        _;
    }

    /// @param coordinator_ The InferenceCoordinator.
    constructor(IInferenceCoordinator coordinator_) {
        if (address(coordinator_) == address(0)) revert ZeroCoordinator();
        coordinator = coordinator_;
    }

    /// @notice Accepts ether from the coordinator only (withdrawn refunds).
    receive() external payable onlyCoordinator {}

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 requestId, bytes calldata output, bytes32 resultCommitment)
        external
        onlyCoordinator
    {
        _onResult(requestId, output, resultCommitment);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceFailed(uint256 requestId, uint16 code, string calldata reason) external onlyCoordinator {
        _onFailure(requestId, code, reason);
    }

    /// @dev Requests an inference paying `fee` wei from this contract's balance (usually the msg.value of the
    /// current call). Pay exactly `coordinator.quoteFee(...)`: an excess would be sent back to this contract.
    function _requestInference(
        uint256 fee,
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata adapters,
        bytes memory prompt,
        IInferenceCoordinator.PromptFormat promptFormat,
        uint32 maxTokens,
        uint32 temperature,
        uint32 topP,
        uint64 seed,
        uint32 callbackGasLimit,
        uint64 deadline
    ) internal returns (uint256 requestId) {
        return coordinator.requestInference{value: fee}(
            modelId, adapters, prompt, promptFormat, maxTokens, temperature, topP, seed, callbackGasLimit, deadline
        );
    }

    /// @dev Opens a session (model, adapters and sampling fixed for its life) owned by this contract.
    function _openSession(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] memory adapters,
        uint32 temperature,
        uint32 topP,
        uint64 seed
    ) internal returns (uint256 sessionId) {
        return IInferenceSessions(address(coordinator)).openSession(modelId, adapters, temperature, topP, seed);
    }

    /// @dev Sends a session's next turn (its new message only), paying `fee` wei; the result arrives through
    /// `_onResult` like any request. Pass the session's adapters exactly as opened.
    function _continueSession(
        uint256 fee,
        uint256 sessionId,
        IInferenceCoordinator.Adapter[] memory adapters,
        bytes memory prompt,
        IInferenceCoordinator.PromptFormat promptFormat,
        uint32 maxTokens,
        uint32 callbackGasLimit,
        uint64 deadline
    ) internal returns (uint256 requestId) {
        return IInferenceSessions(address(coordinator)).requestTurn{value: fee}(
            sessionId, adapters, prompt, promptFormat, maxTokens, callbackGasLimit, deadline
        );
    }

    /// @dev Cancels an expired request of this contract; its fee is credited back to this contract.
    function _cancelInference(uint256 requestId, IInferenceCoordinator.InferenceRequest calldata request) internal {
        coordinator.cancel(requestId, request);
    }

    /// @dev Pulls this contract's credits (refunds) from the coordinator.
    function _withdrawCredits() internal {
        coordinator.withdraw();
    }

    /// @dev Called with the output of a fulfilled request. Runs under the request's callbackGasLimit.
    function _onResult(uint256 requestId, bytes calldata output, bytes32 resultCommitment) internal virtual;

    /// @dev Called when the oracle reported a failure; the fee is already credited back to this contract.
    function _onFailure(uint256 requestId, uint16 code, string calldata reason) internal virtual;
}
