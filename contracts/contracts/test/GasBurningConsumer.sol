// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";
import {ConsumerHarness} from "./ConsumerHarness.sol";

/// @dev Test-only: every callback spins until it runs out of gas, and would return a huge buffer if it could.
contract GasBurningConsumer is ConsumerHarness {
    uint256 public counter;

    constructor(IInferenceCoordinator coordinator_) ConsumerHarness(coordinator_) {}

    function onInferenceResult(uint256, bytes calldata, bytes32) external {
        _burn();
    }

    function onInferenceFailed(uint256, uint16, string calldata) external {
        _burn();
    }

    function _burn() private {
        while (true) {
            counter++;
        }
    }
}
