// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";
import {ConsumerHarness} from "./ConsumerHarness.sol";

/// @dev Test-only: every callback reverts.
contract RevertingConsumer is ConsumerHarness {
    error CallbackRejected(uint256 requestId);

    constructor(IInferenceCoordinator coordinator_) ConsumerHarness(coordinator_) {}

    function onInferenceResult(uint256 requestId, bytes calldata, bytes32) external pure {
        revert CallbackRejected(requestId);
    }

    function onInferenceFailed(uint256 requestId, uint16, string calldata) external pure {
        revert CallbackRejected(requestId);
    }
}
