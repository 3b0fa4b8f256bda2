// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";

/// @dev Test-only base: a consumer whose `request` forwards msg.value and all parameters to the coordinator, so
/// tests control every field. Subclasses decide how the callbacks behave.
abstract contract ConsumerHarness is IInferenceConsumer {
    IInferenceCoordinator public immutable coordinator;

    constructor(IInferenceCoordinator coordinator_) {
        coordinator = coordinator_;
    }

    receive() external payable {}

    function request(
        bytes32 modelId,
        IInferenceCoordinator.Adapter[] calldata adapters,
        bytes calldata prompt,
        IInferenceCoordinator.PromptFormat promptFormat,
        uint32 maxTokens,
        uint32 temperature,
        uint32 topP,
        uint64 seed,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external payable returns (uint256) {
        return coordinator.requestInference{value: msg.value}(
            modelId, adapters, prompt, promptFormat, maxTokens, temperature, topP, seed, callbackGasLimit, deadline
        );
    }

    function cancelRequest(uint256 requestId, IInferenceCoordinator.InferenceRequest calldata req) external {
        coordinator.cancel(requestId, req);
    }

    function withdrawCredits() external {
        coordinator.withdraw();
    }
}
