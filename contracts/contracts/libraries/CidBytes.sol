// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title CidBytes
/// @notice Cheap structural check of a binary IPFS CID carrying a sha2-256 multihash.
/// @dev Accepted forms (anything else is rejected):
///  - CIDv0: 0x12 0x20 <32-byte digest>                       (34 bytes)
///  - CIDv1: 0x01 <codec> 0x12 0x20 <32-byte digest>          (36 bytes), codec 0x55 (raw) or 0x70 (dag-pb)
/// The digest itself cannot be checked on-chain; the oracle verifies content against it.
library CidBytes {
    uint256 internal constant CID_V0_LENGTH = 34;
    uint256 internal constant CID_V1_LENGTH = 36;

    /// @notice True when `cid` is a CIDv0 or a raw/dag-pb CIDv1 with a sha2-256 digest.
    function isValid(bytes calldata cid) internal pure returns (bool) {
        if (cid.length == CID_V0_LENGTH) {
            return cid[0] == 0x12 && cid[1] == 0x20;
        }
        if (cid.length == CID_V1_LENGTH) {
            return cid[0] == 0x01 && (cid[1] == 0x55 || cid[1] == 0x70) && cid[2] == 0x12 && cid[3] == 0x20;
        }
        return false;
    }
}
