// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20PermitUpgradeable} from
    "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20PermitUpgradeable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IModelShares} from "./interfaces/IModelShares.sol";

/// @title ModelShares
/// @notice The fixed-supply ERC-20 (with EIP-2612 permit) of one model's shares, deployed by the registry as a clone
/// whose immutable argument is the model id. Royalties use a per-share accumulator: a payment raises
/// `revenuePerShare` once, whatever the number of holders, and a transfer moves no royalties: it only records a
/// correction so that each side keeps exactly what it had earned before the transfer.
///
/// A holder's entitlement is `(revenuePerShare * balance + correction) / SCALE`; claiming lowers the correction.
/// With `SCALE = 1e36` and a supply below 2^96, every unit of revenue raises the accumulator. The sub-unit remainder
/// of each distribution is carried in `dust` and added to the next one, never lost. Rounding bound: with E a holder's
/// exact pro-rata entitlement, claimed + claimable lies in [floor(E - (balance + sent) / 1e36),
/// floor(E + received / 1e36)], where sent and received count the shares it transferred. Both widths are below
/// 1e-7 of a unit, so a holder is at floor(E), or one unit off when E lies that close to an integer; the total
/// claimable never exceeds what was credited.
contract ModelShares is ERC20PermitUpgradeable, IModelShares {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 private constant SCALE = 1e36;

    /// @notice The registry that creates clones and initialises their supply.
    address public immutable registry;
    /// @notice The vault that holds the revenue and is the only one allowed to credit and pay it out.
    address public immutable vault;
    /// @notice The stablecoin revenue is paid in.
    IERC20 public immutable asset;

    /// @custom:storage-location erc7201:modelshare.storage.ModelShares
    struct RoyaltyStorage {
        uint256 revenuePerShare;
        uint256 dust;
        uint256 totalRevenue;
        mapping(address holder => int256) corrections;
    }

    // keccak256(abi.encode(uint256(keccak256("modelshare.storage.ModelShares")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant ROYALTY_STORAGE = 0x701cd4da6467d6745fdc73648bdc922d07f1b92a5a1de8ba4729c98d108ebf00;

    modifier onlyVault() {
        if (msg.sender != vault) revert OnlyVault();
        _;
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address registry_, address vault_, address asset_) {
        registry = registry_;
        vault = vault_;
        asset = IERC20(asset_);
        _disableInitializers();
    }

    /// @notice Mints the whole, fixed supply. Called once by the registry in the transaction that creates the clone.
    /// @dev No `initializer` flag is stored: the supply being non-zero is the guard, which saves a slot per model.
    function initialize(address[] calldata recipients, uint256[] calldata amounts) external {
        if (msg.sender != registry) revert OnlyRegistry();
        if (totalSupply() != 0) revert AlreadyInitialized();
        for (uint256 i; i < recipients.length; ++i) {
            _mint(recipients[i], amounts[i]);
        }
    }

    /// @notice Credits `amount` of revenue to the current holders, pro rata. Only the vault, which holds the money.
    function addRevenue(uint256 amount) external onlyVault {
        RoyaltyStorage storage $ = _royalties();
        uint256 scaled = amount * SCALE + $.dust;
        uint256 supply = totalSupply();
        uint256 increment = scaled / supply;
        $.dust = scaled - increment * supply;
        uint256 rps = $.revenuePerShare + increment;
        $.revenuePerShare = rps;
        $.totalRevenue += amount;
        emit RevenueDistributed(amount, rps);
    }

    /// @notice Marks `holder`'s claimable royalties as paid and returns them; the vault transfers the money.
    function claimFor(address holder) external onlyVault returns (uint256 amount) {
        amount = claimable(holder);
        if (amount != 0) {
            _royalties().corrections[holder] -= (amount * SCALE).toInt256();
            emit RoyaltiesClaimed(holder, amount);
        }
    }

    /// @notice Sends stablecoin held by this token (x402 `exact` payments land here) to the vault for splitting.
    function forward(uint256 amount) external onlyVault {
        asset.safeTransfer(vault, amount);
    }

    /// @notice The model these shares belong to, read from the clone's immutable argument.
    function modelId() public view returns (uint256) {
        return abi.decode(Clones.fetchCloneArgs(address(this)), (uint256));
    }

    /// @notice Royalties `holder` can claim now through the vault.
    function claimable(address holder) public view returns (uint256) {
        RoyaltyStorage storage $ = _royalties();
        int256 accrued = (($.revenuePerShare * balanceOf(holder)).toInt256() + $.corrections[holder]);
        return uint256(accrued) / SCALE;
    }

    /// @notice Revenue per share since launch, scaled by 1e36.
    function revenuePerShare() external view returns (uint256) {
        return _royalties().revenuePerShare;
    }

    /// @notice Revenue credited to holders since launch.
    function totalRevenue() external view returns (uint256) {
        return _royalties().totalRevenue;
    }

    /// @notice Sub-unit remainder of past distributions, scaled by 1e36, carried into the next one.
    function carriedDust() external view returns (uint256) {
        return _royalties().dust;
    }

    /// @notice Royalty correction of `holder`, for indexers that mirror the accumulator.
    function correctionOf(address holder) external view returns (int256) {
        return _royalties().corrections[holder];
    }

    function name() public view override returns (string memory) {
        return string.concat("Modelshare #", Strings.toString(modelId()));
    }

    function symbol() public view override returns (string memory) {
        return string.concat("MS", Strings.toString(modelId()));
    }

    /// @dev Permit domain computed from the model id rather than stored: saves two slots per model.
    function _EIP712Name() internal view override returns (string memory) {
        return name();
    }

    function _EIP712Version() internal pure override returns (string memory) {
        return "1";
    }

    /// @dev Keeps each side's earned royalties unchanged across a balance change.
    function _update(address from, address to, uint256 value) internal override {
        if (to == address(this)) revert TransferToShareContract();
        super._update(from, to, value);
        RoyaltyStorage storage $ = _royalties();
        uint256 rps = $.revenuePerShare;
        if (rps == 0 || from == to) return;
        int256 delta = (rps * value).toInt256();
        if (from != address(0)) $.corrections[from] += delta;
        if (to != address(0)) $.corrections[to] -= delta;
    }

    function _royalties() private pure returns (RoyaltyStorage storage $) {
        assembly {
            $.slot := ROYALTY_STORAGE
        }
    }
}
