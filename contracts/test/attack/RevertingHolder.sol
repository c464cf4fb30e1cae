// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A share holder that cannot take delivery of its royalties: its claim always ends in a revert (think of a
/// blacklisted address, or a wallet whose receive logic fails). Pull payments must keep that its own problem.
contract RevertingHolder {
    error CannotReceive();

    function claim(address vault, uint256[] calldata modelIds) external {
        (bool ok,) = vault.call(abi.encodeWithSignature("claim(uint256[])", modelIds));
        ok;
        revert CannotReceive();
    }
}
