// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A plain OpenZeppelin ERC-20, the yardstick the share token's transfer cost is measured against.
contract PlainToken is ERC20 {
    constructor(address holder, uint256 supply) ERC20("Plain", "PLAIN") {
        _mint(holder, supply);
    }
}
