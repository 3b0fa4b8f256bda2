// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title FailureCodes
/// @notice Codes an oracle passes to `reportFailure`. Mirrored in Java by `dev.loracle.contracts.FailureCode`.
library FailureCodes {
    /// @dev An adapter CID could not be parsed as a CID the oracle supports.
    uint16 internal constant INVALID_CID = 1;
    /// @dev An adapter could not be fetched from IPFS after retries.
    uint16 internal constant ADAPTER_NOT_FOUND = 2;
    /// @dev An adapter file is malformed, contains NaN/Inf, or failed its integrity check.
    uint16 internal constant ADAPTER_INVALID = 3;
    /// @dev An adapter targets another architecture or tensor shape than the model.
    uint16 internal constant ADAPTER_INCOMPATIBLE = 4;
    /// @dev The prompt is empty, not UTF-8, or too long for the model.
    uint16 internal constant PROMPT_INVALID = 5;
    /// @dev Prompt tokens plus maxTokens exceed the model context.
    uint16 internal constant CONTEXT_OVERFLOW = 6;
    /// @dev The oracle does not serve the requested model.
    uint16 internal constant MODEL_UNAVAILABLE = 7;
    /// @dev The oracle could not finish before the request deadline.
    uint16 internal constant DEADLINE_EXCEEDED = 8;
    /// @dev The oracle hit its memory red line.
    uint16 internal constant RESOURCE_EXHAUSTED = 9;
    /// @dev Any other oracle-side error.
    uint16 internal constant INTERNAL_ERROR = 10;

    /// @dev Highest defined code; `reportFailure` rejects codes outside 1..MAX_CODE.
    uint16 internal constant MAX_CODE = 10;
}
