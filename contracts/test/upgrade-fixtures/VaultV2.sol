// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vault} from "../../Vault.sol";

/// @notice A safe next version of the vault: new state lives in a namespace of its own (ERC-7201).
/// @custom:oz-upgrades-from contracts/Vault.sol:Vault
contract VaultV2 is Vault {
    /// @custom:storage-location erc7201:modelshare.storage.VaultV2
    struct VaultV2Storage {
        uint256 note;
    }

    // keccak256(abi.encode(uint256(keccak256("modelshare.storage.VaultV2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant VAULT_V2_STORAGE = 0x78b426c8134734d4aadae60b61b8c4462aaa46bb6da735c4c7c6f4d095fd7d00;

    /// @notice Runs once, in the upgrade transaction (`upgradeToAndCall`).
    function initializeV2(uint256 note_) external reinitializer(2) {
        _v2().note = note_;
    }

    function setNote(uint256 note_) external onlyOwner {
        _v2().note = note_;
    }

    function note() external view returns (uint256) {
        return _v2().note;
    }

    function _v2() private pure returns (VaultV2Storage storage $) {
        assembly {
            $.slot := VAULT_V2_STORAGE
        }
    }
}
