// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A hostile ERC-1271 payer: while its signature is checked it re-enters the vault with a real CALL (e.g.
/// settling the same batch again, or withdrawing) and then answers "valid". The vault checks ERC-1271 signatures
/// with STATICCALL, so every state change of the re-entry reverts; `reentered` records nothing for the same reason,
/// which is why the function is deliberately not `view`: the attempt must be a genuine call.
contract ReentrantWallet {
    bytes4 private constant MAGIC = 0x1626ba7e;
    address public immutable vault;
    bytes public replay;

    constructor(address vault_) {
        vault = vault_;
    }

    function arm(bytes calldata vaultCalldata) external {
        replay = vaultCalldata;
    }

    function isValidSignature(bytes32, bytes calldata) external returns (bytes4) {
        (bool ok,) = vault.call(replay);
        ok;
        return MAGIC;
    }

    /// @notice Lets tests make the wallet approve and deposit like any payer.
    function execute(address target, bytes calldata data) external {
        (bool ok, bytes memory out) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
    }
}
