// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IInferenceConsumer
/// @notice Callbacks the InferenceCoordinator makes to the contract that requested an inference.
/// @dev Both calls run with exactly the `callbackGasLimit` of the request; a revert here never reverts the
/// coordinator's state change, it is only recorded as `callbackSucceeded = false` in the coordinator's event.
interface IInferenceConsumer {
    /// @notice Delivers the generated output of a fulfilled request.
    /// @param requestId The id returned by `requestInference`.
    /// @param output The generated text (UTF-8 bytes, prompt excluded).
    /// @param resultCommitment Commitment binding the output to the model weights, adapters and sampling parameters.
    function onInferenceResult(uint256 requestId, bytes calldata output, bytes32 resultCommitment) external;

    /// @notice Reports that the oracle could not serve a request; its fee has been credited back to the consumer.
    /// @param requestId The id returned by `requestInference`.
    /// @param code A `FailureCodes` constant.
    /// @param reason Human-readable detail from the oracle.
    function onInferenceFailed(uint256 requestId, uint16 code, string calldata reason) external;
}
