// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";
import {ConsumerHarness} from "./ConsumerHarness.sol";

/// @dev Test-only: records what each callback received, including the gas it was given.
contract RecordingConsumer is ConsumerHarness {
    uint256 public lastRequestId;
    bytes public lastOutput;
    bytes32 public lastResultCommitment;
    uint16 public lastCode;
    string public lastReason;
    uint256 public gasAtEntry;
    uint256 public results;
    uint256 public failures;

    constructor(IInferenceCoordinator coordinator_) ConsumerHarness(coordinator_) {}

    function onInferenceResult(uint256 requestId, bytes calldata output, bytes32 resultCommitment) external {
        uint256 gasLeft = gasleft();
        require(msg.sender == address(coordinator), "not coordinator");
        gasAtEntry = gasLeft;
        lastRequestId = requestId;
        lastOutput = output;
        lastResultCommitment = resultCommitment;
        results++;
    }

    function onInferenceFailed(uint256 requestId, uint16 code, string calldata reason) external {
        uint256 gasLeft = gasleft();
        require(msg.sender == address(coordinator), "not coordinator");
        gasAtEntry = gasLeft;
        lastRequestId = requestId;
        lastCode = code;
        lastReason = reason;
        failures++;
    }
}
