// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IVault
/// @notice Escrow, voucher settlement, x402 `exact` payments and the revenue split of Modelshare.
interface IVault {
    /// @notice A payer's running tab with one operator for one model, on one lane. Amounts and calls are cumulative.
    /// @dev Lanes let a payer keep several calls in flight with one operator and model: each lane is an independent
    /// tab whose cumulative advances one answered call at a time, so a call that fails is never paid for.
    struct Voucher {
        address payer;
        address operator;
        uint256 modelId;
        uint32 lane;
        uint256 cumulativeAmount;
        uint64 cumulativeCalls;
        uint64 expiry;
    }

    struct SignedVoucher {
        Voucher voucher;
        bytes signature;
    }

    /// @notice An EIP-3009 `transferWithAuthorization` signed by `from` to the model's payment address.
    struct ExactPayment {
        uint256 modelId;
        address from;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
        bytes signature;
    }

    /// @notice Why `settle` skipped a voucher (a skipped voucher changes no state). `None` means accepted.
    enum RejectReason {
        None,
        Stale,
        Expired,
        BadSignature,
        SessionExpired,
        SessionCapExceeded,
        EmptyEscrow
    }

    event Deposited(address indexed payer, address indexed from, uint256 amount);
    event WithdrawalRequested(address indexed payer, uint256 amount, uint64 unlockAt);
    event WithdrawalCancelled(address indexed payer);
    event Withdrawn(address indexed payer, uint256 amount);
    event SessionSignerSet(address indexed payer, address indexed signer, uint128 cap, uint64 expiry);
    event SessionSignerRevoked(address indexed payer, address indexed signer);
    /// @notice A voucher moved `charged` from the payer's escrow to the model; `shortfall` is what escrow could not cover.
    event VoucherSettled(
        bytes32 indexed tabKey,
        address indexed payer,
        uint256 indexed modelId,
        address operator,
        uint32 lane,
        uint256 settledAmount,
        uint64 settledCalls,
        uint256 charged,
        uint256 shortfall
    );
    event VoucherRejected(bytes32 indexed tabKey, address indexed payer, uint256 indexed modelId, RejectReason reason);
    event ExactPaymentSettled(
        uint256 indexed modelId, address indexed payer, address indexed operator, uint256 amount, bytes32 nonce
    );
    event StraySwept(uint256 indexed modelId, uint256 amount);
    /// @notice The split of `gross` paid to `modelId`, in order: protocol fee, operator fee, upstream, holders.
    event RevenueSplit(
        uint256 indexed modelId,
        address indexed operator,
        uint256 gross,
        uint256 protocolFee,
        uint256 operatorFee,
        uint256 upstream,
        uint256 holders
    );
    event RoyaltyPaid(uint256 indexed fromModelId, uint256 indexed toModelId, uint256 amount);
    event Claimed(address indexed holder, uint256 amount);
    event FeesAccrued(address indexed account, uint256 amount);
    event FeesClaimed(address indexed account, uint256 amount);
    event ProtocolFeeSet(uint16 bps);
    event TreasurySet(address treasury);
    event WithdrawalDelaySet(uint64 delay);

    error ZeroAmount();
    error ZeroAddress();
    error EmptyBatch();
    error InsufficientEscrow(uint256 available, uint256 requested);
    error NoPendingWithdrawal();
    error WithdrawalLocked(uint64 unlockAt);
    error ProtocolFeeTooHigh(uint256 bps, uint256 max);
    error WithdrawalDelayTooLong(uint256 delay, uint256 max);
    error InvalidSession();
    error UnknownModel(uint256 modelId);
    error ModelPaused(uint256 modelId);
    error AmountTooLarge(uint256 amount);
    error NothingToClaim();

    function deposit(uint256 amount) external;
    function depositFor(address payer, uint256 amount) external;
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
    function requestWithdrawal(uint256 amount) external;
    function cancelWithdrawal() external;
    function withdraw() external returns (uint256 amount);
    function setSessionSigner(address signer, uint128 cap, uint64 expiry) external;
    function revokeSessionSigner(address signer) external;
    function settle(SignedVoucher[] calldata vouchers) external returns (uint256 charged);
    function payExact(ExactPayment calldata payment) external;
    function payExactBatch(ExactPayment[] calldata payments) external;
    function sweep(uint256 modelId) external returns (uint256 amount);
    function claim(uint256[] calldata modelIds) external returns (uint256 amount);
    function claimFees() external returns (uint256 amount);
}
