// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Benchmark fixture: hands out a token it holds to many addresses in one transaction, so the subgraph host's
/// benchmark can generate tens of thousands of share transfers (and holders) quickly.
contract ShareSpray {
    error TransferFailed(address to);

    function spray(IERC20 token, address[] calldata to, uint256 amount) external {
        for (uint256 i; i < to.length; ++i) {
            if (!token.transfer(to[i], amount)) revert TransferFailed(to[i]);
        }
    }
}
