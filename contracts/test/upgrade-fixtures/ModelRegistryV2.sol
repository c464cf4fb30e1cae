// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ModelRegistry} from "../../ModelRegistry.sol";

/// @notice A safe next version of the registry that only adds behaviour.
/// @custom:oz-upgrades-from contracts/ModelRegistry.sol:ModelRegistry
contract ModelRegistryV2 is ModelRegistry {
    /// @notice Nothing to set up; marks the upgrade as done so it cannot be replayed.
    function initializeV2() external reinitializer(2) {}

    function version() external pure returns (string memory) {
        return "2";
    }
}
