// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IModelShares
/// @notice The royalty side of a model's share token. Revenue is accounted per share; the vault holds the money.
interface IModelShares {
    /// @notice Revenue credited to holders; `revenuePerShare` is the new accumulator (scaled by 1e36).
    event RevenueDistributed(uint256 amount, uint256 revenuePerShare);
    /// @notice A holder's royalties paid out through the vault.
    event RoyaltiesClaimed(address indexed holder, uint256 amount);

    error OnlyRegistry();
    error OnlyVault();
    error AlreadyInitialized();
    error TransferToShareContract();

    function initialize(address[] calldata recipients, uint256[] calldata amounts) external;
    function addRevenue(uint256 amount) external;
    function claimFor(address holder) external returns (uint256 amount);
    function forward(uint256 amount) external;

    function modelId() external view returns (uint256);
    function claimable(address holder) external view returns (uint256);
    function revenuePerShare() external view returns (uint256);
    function totalRevenue() external view returns (uint256);
}
