// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vault} from "../../Vault.sol";

/// @notice An unsafe upgrade: a plain (non-namespaced) state variable with an initial value, which a proxy would
/// never see, and a delegatecall to an arbitrary address, which could destroy or hijack the implementation.
/// @custom:oz-upgrades-from contracts/Vault.sol:Vault
contract VaultV2Unsafe is Vault {
    uint256 public limit = 100;

    function run(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        (, bytes memory out) = target.delegatecall(data);
        return out;
    }
}
