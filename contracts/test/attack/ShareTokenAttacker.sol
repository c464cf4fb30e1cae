// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelShares} from "../../interfaces/IModelShares.sol";

/// @notice A contract that tries to drive a model's share token directly: credit fake revenue, claim for itself,
/// pull the token's stablecoin, or mint itself shares. Every call bubbles the share token's revert.
contract ShareTokenAttacker {
    function addRevenue(IModelShares shares, uint256 amount) external {
        shares.addRevenue(amount);
    }

    function claimFor(IModelShares shares) external returns (uint256) {
        return shares.claimFor(address(this));
    }

    function forward(IModelShares shares, uint256 amount) external {
        shares.forward(amount);
    }

    function initialize(IModelShares shares, uint256 amount) external {
        address[] memory recipients = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        recipients[0] = address(this);
        amounts[0] = amount;
        shares.initialize(recipients, amounts);
    }
}
