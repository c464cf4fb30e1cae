// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title CidCodec
/// @notice Compact on-chain form of the CIDs Modelshare records: CIDv1 with a sha2-256 multihash, i.e. the 36 bytes
/// `0x01 | codec | 0x12 | 0x20 | digest`. Storing `(codec, digest)` costs one slot instead of a 59-byte string.
library CidCodec {
    uint8 internal constant RAW = 0x55;
    uint8 internal constant DAG_PB = 0x70;
    uint8 internal constant DAG_CBOR = 0x71;

    bytes private constant BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

    /// @dev Returns (0, 0) when `cid` is not a supported CIDv1/sha2-256; callers turn that into their own error.
    function decode(bytes calldata cid) internal pure returns (uint8 codec, bytes32 digest) {
        if (cid.length != 36 || cid[0] != 0x01 || cid[2] != 0x12 || cid[3] != 0x20) return (0, 0);
        codec = uint8(cid[1]);
        if (codec != RAW && codec != DAG_PB && codec != DAG_CBOR) return (0, 0);
        digest = bytes32(cid[4:36]);
        if (digest == bytes32(0)) return (0, 0);
    }

    function encode(uint8 codec, bytes32 digest) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0x01), codec, uint8(0x12), uint8(0x20), digest);
    }

    /// @notice Multibase base32 (RFC 4648, lower case, no padding, prefix `b`): the usual text form `bafy...`.
    function toBase32String(uint8 codec, bytes32 digest) internal pure returns (string memory) {
        bytes memory data = encode(codec, digest);
        // 36 bytes = 288 bits -> ceil(288 / 5) = 58 characters, plus the multibase prefix.
        bytes memory out = new bytes(59);
        out[0] = "b";
        uint256 buffer;
        uint256 bits;
        uint256 j = 1;
        for (uint256 i; i < data.length; ++i) {
            buffer = (buffer << 8) | uint8(data[i]);
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                out[j++] = BASE32_ALPHABET[(buffer >> bits) & 31];
            }
        }
        if (bits > 0) out[j] = BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
        return string(out);
    }
}
