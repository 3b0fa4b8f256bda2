// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IInferenceCoordinator} from "../interfaces/IInferenceCoordinator.sol";
import {ConsumerHarness} from "./ConsumerHarness.sol";

/// @dev Test-only: from inside each callback it tries to call back into the coordinator (withdraw and a new
/// request), and records whether those calls succeeded and the error selector they returned.
contract ReenteringConsumer is ConsumerHarness {
    bool public withdrawSucceeded;
    bytes4 public withdrawError;
    bool public requestSucceeded;
    bytes4 public requestError;
    uint256 public attempts;

    constructor(IInferenceCoordinator coordinator_) ConsumerHarness(coordinator_) {}

    function onInferenceResult(uint256, bytes calldata, bytes32) external {
        _reenter();
    }

    function onInferenceFailed(uint256, uint16, string calldata) external {
        _reenter();
    }

    function _reenter() private {
        attempts++;
        bytes memory ret;
        (withdrawSucceeded, ret) = address(coordinator).call(abi.encodeCall(IInferenceCoordinator.withdraw, ()));
        withdrawError = bytes4(ret);
        IInferenceCoordinator.Adapter[] memory none = new IInferenceCoordinator.Adapter[](0);
        (requestSucceeded, ret) = address(coordinator).call(
            abi.encodeCall(
                IInferenceCoordinator.requestInference,
                (bytes32(0), none, "", IInferenceCoordinator.PromptFormat.Raw, 1, 0, 1, 0, 0, uint64(block.timestamp + 1))
            )
        );
        requestError = bytes4(ret);
    }
}
