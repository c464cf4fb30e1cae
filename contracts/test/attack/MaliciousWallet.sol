// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A hostile ERC-1271 payer. While the vault checks its signature it tries to re-enter the vault with real
/// CALLs: functions without the reentrancy guard (register an accomplice as a session signer with an unlimited cap,
/// request a withdrawal) and guarded ones (a batch to settle, withdraw). The vault must check ERC-1271 signatures
/// with STATICCALL, so every one of these attempts must fail there.
///
/// Modes:
/// - `Accept`: always answers "valid" after the attempts.
/// - `OnlyIfReentered`: answers "valid" only if at least one re-entry succeeded, which makes a failed re-entry
///   observable from outside (the voucher is rejected) although nothing can be recorded inside a static context.
/// - `BurnGas`: loops until the call runs out of gas (a griefing payer).
/// - `Revert`: reverts.
contract MaliciousWallet {
    enum Mode {
        Accept,
        OnlyIfReentered,
        BurnGas,
        Revert
    }

    bytes4 private constant MAGIC = 0x1626ba7e;
    uint256 private constant REENTRY_GAS = 60_000;
    address public immutable vault;
    address public immutable accomplice;
    Mode public mode;
    bytes public settleCalldata;

    constructor(address vault_, address accomplice_) {
        vault = vault_;
        accomplice = accomplice_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @notice Calldata of a `settle` batch to re-submit from inside the signature check.
    function setSettleCalldata(bytes calldata data) external {
        settleCalldata = data;
    }

    function isValidSignature(bytes32, bytes calldata) external returns (bytes4) {
        Mode m = mode;
        if (m == Mode.Revert) revert("no");
        if (m == Mode.BurnGas) {
            uint256 i;
            while (true) {
                unchecked {
                    ++i;
                }
            }
        }
        uint256 succeeded = _reenter();
        if (m == Mode.OnlyIfReentered && succeeded == 0) return bytes4(0);
        return MAGIC;
    }

    /// @notice The same attempts as a plain transaction, to show they do change state outside a static context.
    function attackDirectly() external returns (uint256 succeeded) {
        return _reenter();
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

    function _reenter() private returns (uint256 succeeded) {
        bytes[4] memory calls = [
            abi.encodeWithSignature(
                "setSessionSigner(address,uint128,uint64)", accomplice, type(uint128).max, uint64(block.timestamp + 365 days)
            ),
            abi.encodeWithSignature("requestWithdrawal(uint256)", uint256(1)),
            settleCalldata,
            abi.encodeWithSignature("withdraw()")
        ];
        for (uint256 i; i < calls.length; ++i) {
            if (calls[i].length == 0) continue;
            // A failed call in a static context burns all the gas it was given: a budget per attempt keeps all four
            // attempts within the vault's ERC-1271 gas limit, so the test sees each one refused, not an out-of-gas.
            (bool ok,) = vault.call{gas: REENTRY_GAS}(calls[i]);
            if (ok) ++succeeded;
        }
    }
}
