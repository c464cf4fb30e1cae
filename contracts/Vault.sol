// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable2StepUpgradeable} from "@openzeppelin/contracts-upgradeable/access/Ownable2StepUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IVault} from "./interfaces/IVault.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelShares} from "./interfaces/IModelShares.sol";
import {IERC3009} from "./interfaces/IERC3009.sol";

/// @title Vault
/// @notice Holds every stablecoin unit the protocol owes: payers' escrow, accrued fees and holders' royalties. Tokens
/// move only on deposit, withdrawal, x402 `exact` payment and claim; a voucher settlement is pure accounting.
///
/// Split of every payment to model M, in order, each part computed on the gross amount and rounded down:
/// protocol fee (to the treasury) -> operator fee (M's bps, to the operator) -> upstream royalties (M's flattened
/// lineage, credited to each ancestor's holders) -> the remainder, including every rounding unit, to M's holders.
contract Vault is
    IVault,
    Ownable2StepUpgradeable,
    PausableUpgradeable,
    EIP712Upgradeable,
    UUPSUpgradeable,
    ReentrancyGuardTransient
{
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_PROTOCOL_FEE_BPS = 1_000;
    uint64 public constant MAX_WITHDRAWAL_DELAY = 30 days;
    /// @notice Gas given to a contract payer's ERC-1271 `isValidSignature`. Ample for multisig and smart-account
    /// wallets (a P-256 passkey check without the precompile stays under it) while bounding what a hostile wallet can
    /// burn of an operator's settlement batch.
    uint256 public constant ERC1271_GAS_LIMIT = 300_000;

    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address payer,address operator,uint256 modelId,uint32 lane,uint256 cumulativeAmount,uint64 cumulativeCalls,uint64 expiry)"
    );

    struct Escrow {
        uint128 balance;
        uint128 pendingWithdrawal;
        uint64 unlockAt;
    }

    struct Tab {
        uint128 settledAmount;
        uint64 settledCalls;
    }

    struct Session {
        uint128 cap;
        uint128 spent;
        uint64 expiry;
    }

    /// @custom:storage-location erc7201:modelshare.storage.Vault
    struct VaultStorage {
        IERC20 asset;
        IModelRegistry registry;
        address sharesImplementation;
        address treasury;
        uint16 protocolFeeBps;
        uint64 withdrawalDelay;
        mapping(address payer => Escrow) escrow;
        mapping(bytes32 tabKey => Tab) tabs;
        mapping(address payer => mapping(address signer => Session)) sessions;
        mapping(address account => uint256) fees;
    }

    // keccak256(abi.encode(uint256(keccak256("modelshare.storage.Vault")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant VAULT_STORAGE = 0xb829e5a56392b35d99f3c8b704394059d557642db282772325c37489c2291f00;

    /// @dev A run of consecutive vouchers for the same model and operator is split once, not once per voucher.
    struct Run {
        uint256 modelId;
        address operator;
        uint256 gross;
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets up the vault. `registry` must already be initialised (its share implementation is read here).
    /// @dev Public rather than external so upgrade validation sees that later versions inherit their initialisation.
    function initialize(
        address owner_,
        address asset_,
        address registry_,
        address treasury_,
        uint16 protocolFeeBps_,
        uint64 withdrawalDelay_
    ) public initializer {
        if (asset_ == address(0) || registry_ == address(0) || treasury_ == address(0)) revert ZeroAddress();
        __Ownable_init(owner_);
        __Pausable_init();
        __EIP712_init("Modelshare Vault", "1");
        VaultStorage storage $ = _vault();
        $.asset = IERC20(asset_);
        $.registry = IModelRegistry(registry_);
        $.sharesImplementation = IModelRegistry(registry_).sharesImplementation();
        _setTreasury(treasury_);
        _setProtocolFee(protocolFeeBps_);
        _setWithdrawalDelay(withdrawalDelay_);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Escrow
    // ----------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IVault
    function deposit(uint256 amount) external {
        depositFor(msg.sender, amount);
    }

    /// @inheritdoc IVault
    function depositFor(address payer, uint256 amount) public nonReentrant whenNotPaused {
        if (payer == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        VaultStorage storage $ = _vault();
        Escrow storage e = $.escrow[payer];
        uint256 balance = e.balance + amount;
        if (balance > type(uint128).max) revert AmountTooLarge(amount);
        e.balance = uint128(balance);
        emit Deposited(payer, msg.sender, amount);
        $.asset.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IVault
    /// @dev A failing permit is ignored when the allowance is already there, so a front-run permit cannot block it.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(_vault().asset)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        depositFor(msg.sender, amount);
    }

    /// @inheritdoc IVault
    /// @dev Replaces any earlier request and restarts the delay. Settlement may still draw on the amount meanwhile.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Escrow storage e = _vault().escrow[msg.sender];
        if (amount > e.balance) revert InsufficientEscrow(e.balance, amount);
        uint64 unlockAt = uint64(block.timestamp) + _vault().withdrawalDelay;
        e.pendingWithdrawal = uint128(amount);
        e.unlockAt = unlockAt;
        emit WithdrawalRequested(msg.sender, amount, unlockAt);
    }

    /// @inheritdoc IVault
    function cancelWithdrawal() external {
        Escrow storage e = _vault().escrow[msg.sender];
        if (e.pendingWithdrawal == 0) revert NoPendingWithdrawal();
        e.pendingWithdrawal = 0;
        e.unlockAt = 0;
        emit WithdrawalCancelled(msg.sender);
    }

    /// @inheritdoc IVault
    /// @dev Pays the requested amount, or less if settlements consumed part of the escrow during the delay.
    function withdraw() external nonReentrant returns (uint256 amount) {
        VaultStorage storage $ = _vault();
        Escrow storage e = $.escrow[msg.sender];
        uint256 pending = e.pendingWithdrawal;
        if (pending == 0) revert NoPendingWithdrawal();
        if (block.timestamp < e.unlockAt) revert WithdrawalLocked(e.unlockAt);
        amount = pending < e.balance ? pending : e.balance;
        e.balance -= uint128(amount);
        e.pendingWithdrawal = 0;
        e.unlockAt = 0;
        emit Withdrawn(msg.sender, amount);
        if (amount != 0) $.asset.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IVault
    /// @dev Setting a signer again replaces its cap and expiry and resets what it has spent.
    function setSessionSigner(address signer, uint128 cap, uint64 expiry) external {
        if (signer == address(0) || signer == msg.sender || cap == 0 || expiry <= block.timestamp) {
            revert InvalidSession();
        }
        _vault().sessions[msg.sender][signer] = Session(cap, 0, expiry);
        emit SessionSignerSet(msg.sender, signer, cap, expiry);
    }

    /// @inheritdoc IVault
    function revokeSessionSigner(address signer) external {
        Session storage s = _vault().sessions[msg.sender][signer];
        if (s.expiry == 0) revert InvalidSession();
        delete _vault().sessions[msg.sender][signer];
        emit SessionSignerRevoked(msg.sender, signer);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Payments
    // ----------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IVault
    /// @dev Idempotent and order-independent: each voucher moves `cumulative - alreadySettled` and raises the tab's
    /// high-water mark. A voucher that is stale, expired, badly signed, beyond its session's cap or facing an empty
    /// escrow is skipped with `VoucherRejected`, so one payer cannot make another payer's settlement fail. When the
    /// escrow covers only part of a voucher, that part is charged and the rest stays settleable after a new deposit.
    function settle(SignedVoucher[] calldata vouchers) external nonReentrant whenNotPaused returns (uint256 charged) {
        if (vouchers.length == 0) revert EmptyBatch();
        Run memory run;
        IModelRegistry.PaymentTerms memory terms;
        uint256 termsModelId;
        for (uint256 i; i < vouchers.length; ++i) {
            Voucher calldata v = vouchers[i].voucher;
            uint256 amount = _applyVoucher(v, vouchers[i].signature);
            if (amount == 0) continue;
            charged += amount;
            if (run.gross != 0 && (run.modelId != v.modelId || run.operator != v.operator)) {
                if (termsModelId != run.modelId) (terms, termsModelId) = (_terms(run.modelId), run.modelId);
                _split(run.modelId, run.operator, run.gross, terms);
                run.gross = 0;
            }
            run.modelId = v.modelId;
            run.operator = v.operator;
            run.gross += amount;
        }
        if (run.gross != 0) {
            if (termsModelId != run.modelId) terms = _terms(run.modelId);
            _split(run.modelId, run.operator, run.gross, terms);
        }
    }

    /// @inheritdoc IVault
    function payExact(ExactPayment calldata payment) external nonReentrant whenNotPaused {
        _payExact(payment);
    }

    /// @inheritdoc IVault
    function payExactBatch(ExactPayment[] calldata payments) external nonReentrant whenNotPaused {
        if (payments.length == 0) revert EmptyBatch();
        for (uint256 i; i < payments.length; ++i) {
            _payExact(payments[i]);
        }
    }

    /// @inheritdoc IVault
    /// @dev Stablecoin can reach a share token without going through `payExact` (a plain transfer, or an x402
    /// authorization submitted straight to the token). Anyone may sweep it into the split; with no operator, the
    /// operator fee stays with the holders.
    function sweep(uint256 modelId) external nonReentrant whenNotPaused returns (uint256 amount) {
        VaultStorage storage $ = _vault();
        IModelRegistry.PaymentTerms memory terms = _terms(modelId);
        amount = $.asset.balanceOf(terms.shares);
        if (amount == 0) revert ZeroAmount();
        IModelShares(terms.shares).forward(amount);
        emit StraySwept(modelId, amount);
        _split(modelId, address(0), amount, terms);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Claims
    // ----------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IVault
    /// @dev Pull payment: each holder claims its own royalties, so a recipient that cannot receive blocks nobody else.
    function claim(uint256[] calldata modelIds) external nonReentrant returns (uint256 amount) {
        VaultStorage storage $ = _vault();
        address implementation = $.sharesImplementation;
        address registryAddress = address($.registry);
        for (uint256 i; i < modelIds.length; ++i) {
            address shares = Clones.predictDeterministicAddressWithImmutableArgs(
                implementation, abi.encode(modelIds[i]), bytes32(modelIds[i]), registryAddress
            );
            if (shares.code.length == 0) revert UnknownModel(modelIds[i]);
            amount += IModelShares(shares).claimFor(msg.sender);
        }
        if (amount == 0) revert NothingToClaim();
        emit Claimed(msg.sender, amount);
        $.asset.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IVault
    function claimFees() external nonReentrant returns (uint256 amount) {
        VaultStorage storage $ = _vault();
        amount = $.fees[msg.sender];
        if (amount == 0) revert NothingToClaim();
        $.fees[msg.sender] = 0;
        emit FeesClaimed(msg.sender, amount);
        $.asset.safeTransfer(msg.sender, amount);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Admin
    // ----------------------------------------------------------------------------------------------------------------

    /// @notice Sets the protocol fee taken from every payment, at most `MAX_PROTOCOL_FEE_BPS`.
    function setProtocolFee(uint16 bps) external onlyOwner {
        _setProtocolFee(bps);
    }

    /// @notice Sets where protocol fees accrue. Fees already accrued stay with the previous treasury.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Sets the delay between a withdrawal request and its execution, at most `MAX_WITHDRAWAL_DELAY`.
    function setWithdrawalDelay(uint64 delay) external onlyOwner {
        _setWithdrawalDelay(delay);
    }

    /// @notice Stops deposits, settlements and payments. Withdrawals and claims keep working.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice Resumes deposits, settlements and payments.
    function unpause() external onlyOwner {
        _unpause();
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------------

    /// @notice A payer's escrow, pending withdrawal and when it unlocks.
    function escrowOf(address payer) external view returns (uint256 balance, uint256 pendingWithdrawal, uint64 unlockAt) {
        Escrow storage e = _vault().escrow[payer];
        return (e.balance, e.pendingWithdrawal, e.unlockAt);
    }

    /// @notice What has been settled of a tab (one lane of a payer with an operator for a model) so far.
    function tabOf(address payer, address operator, uint256 modelId, uint32 lane)
        external
        view
        returns (uint256 settledAmount, uint64 settledCalls)
    {
        Tab storage t = _vault().tabs[tabKey(payer, operator, modelId, lane)];
        return (t.settledAmount, t.settledCalls);
    }

    /// @notice A payer's session signer: cap, amount spent through it, expiry (0 when none).
    function sessionOf(address payer, address signer) external view returns (uint128 cap, uint128 spent, uint64 expiry) {
        Session storage s = _vault().sessions[payer][signer];
        return (s.cap, s.spent, s.expiry);
    }

    /// @notice Fees accrued to `account` (treasury or operator) and not yet claimed.
    function feesOf(address account) external view returns (uint256) {
        return _vault().fees[account];
    }

    /// @notice Royalties `holder` can claim now over `modelIds`.
    function claimableOf(address holder, uint256[] calldata modelIds) external view returns (uint256 amount) {
        VaultStorage storage $ = _vault();
        for (uint256 i; i < modelIds.length; ++i) {
            amount += IModelShares($.registry.sharesOf(modelIds[i])).claimable(holder);
        }
    }

    /// @notice The EIP-712 digest a payer (or its session signer) signs for `voucher`.
    function voucherDigest(Voucher calldata voucher) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    VOUCHER_TYPEHASH,
                    voucher.payer,
                    voucher.operator,
                    voucher.modelId,
                    voucher.lane,
                    voucher.cumulativeAmount,
                    voucher.cumulativeCalls,
                    voucher.expiry
                )
            )
        );
    }

    /// @notice Key of the running tab of `payer` with `operator` for `modelId` on `lane`.
    function tabKey(address payer, address operator, uint256 modelId, uint32 lane) public pure returns (bytes32) {
        return keccak256(abi.encode(payer, operator, modelId, lane));
    }

    function asset() external view returns (address) {
        return address(_vault().asset);
    }

    function registry() external view returns (address) {
        return address(_vault().registry);
    }

    function treasury() external view returns (address) {
        return _vault().treasury;
    }

    function protocolFeeBps() external view returns (uint16) {
        return _vault().protocolFeeBps;
    }

    function withdrawalDelay() external view returns (uint64) {
        return _vault().withdrawalDelay;
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------------------------

    /// @dev Checks one voucher and charges the payer's escrow. Returns the amount charged (0 when skipped).
    function _applyVoucher(Voucher calldata v, bytes calldata signature) private returns (uint256 amount) {
        VaultStorage storage $ = _vault();
        bytes32 key = tabKey(v.payer, v.operator, v.modelId, v.lane);
        Tab storage tab = $.tabs[key];
        uint256 settled = tab.settledAmount;
        if (v.cumulativeAmount <= settled) return _reject(key, v, RejectReason.Stale);
        if (v.expiry != 0 && block.timestamp > v.expiry) return _reject(key, v, RejectReason.Expired);

        uint256 owed = v.cumulativeAmount - settled;
        uint256 available = $.escrow[v.payer].balance;
        if (available == 0) return _reject(key, v, RejectReason.EmptyEscrow);
        amount = owed < available ? owed : available;

        RejectReason reason = _authorize(v, signature, amount);
        if (reason != RejectReason.None) return _reject(key, v, reason);

        $.escrow[v.payer].balance = uint128(available - amount);
        _recordSettlement(key, tab, v, amount, owed);
    }

    function _recordSettlement(bytes32 key, Tab storage tab, Voucher calldata v, uint256 amount, uint256 owed) private {
        uint256 newSettled = tab.settledAmount + amount;
        tab.settledAmount = newSettled.toUint128();
        // Calls advance only when the voucher is paid in full; a partial charge keeps the previous count.
        uint64 calls = amount == owed ? v.cumulativeCalls : tab.settledCalls;
        tab.settledCalls = calls;
        emit VoucherSettled(key, v.payer, v.modelId, v.operator, v.lane, newSettled, calls, amount, owed - amount);
    }

    /// @dev The signer must be the payer (EOA or EIP-7702 account), a live session signer of the payer with `amount`
    /// left under its cap (which this spends), or the payer's ERC-1271 contract wallet.
    function _authorize(Voucher calldata v, bytes calldata signature, uint256 amount) private returns (RejectReason) {
        bytes32 digest = voucherDigest(v);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError) {
            if (signer == v.payer) return RejectReason.None;
            Session storage s = _vault().sessions[v.payer][signer];
            if (s.expiry != 0) {
                if (block.timestamp > s.expiry) return RejectReason.SessionExpired;
                if (s.spent + amount > s.cap) return RejectReason.SessionCapExceeded;
                s.spent += uint128(amount);
                return RejectReason.None;
            }
        }
        // Malformed and malleable (high-s) signatures fall through here and fail unless the payer is a contract.
        if (_isValidContractSignature(v.payer, digest, signature)) return RejectReason.None;
        return RejectReason.BadSignature;
    }

    /// @dev ERC-1271 check with bounded gas (`ERC1271_GAS_LIMIT`) that reads at most 32 bytes of the answer, so a
    /// wallet that loops or answers with a huge payload costs the batch a bounded amount and is simply rejected.
    function _isValidContractSignature(address wallet, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool valid)
    {
        if (wallet.code.length == 0) return false;
        bytes memory query = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bytes4 magic = IERC1271.isValidSignature.selector;
        assembly ("memory-safe") {
            let ok := staticcall(ERC1271_GAS_LIMIT, wallet, add(query, 0x20), mload(query), 0x00, 0x20)
            valid := and(ok, and(gt(returndatasize(), 0x1f), eq(mload(0x00), magic)))
        }
    }

    function _reject(bytes32 key, Voucher calldata v, RejectReason reason) private returns (uint256) {
        emit VoucherRejected(key, v.payer, v.modelId, reason);
        return 0;
    }

    function _payExact(ExactPayment calldata p) private {
        if (p.value == 0) revert ZeroAmount();
        VaultStorage storage $ = _vault();
        IModelRegistry.PaymentTerms memory terms = _terms(p.modelId);
        if (terms.paused) revert ModelPaused(p.modelId);
        // The authorization names the model's own share token as recipient, so it cannot be credited to another model.
        IERC3009(address($.asset)).transferWithAuthorization(
            p.from, terms.shares, p.value, p.validAfter, p.validBefore, p.nonce, p.signature
        );
        IModelShares(terms.shares).forward(p.value);
        emit ExactPaymentSettled(p.modelId, p.from, msg.sender, p.value, p.nonce);
        _split(p.modelId, msg.sender, p.value, terms);
    }

    function _split(uint256 modelId, address operator, uint256 gross, IModelRegistry.PaymentTerms memory terms)
        private
    {
        VaultStorage storage $ = _vault();
        uint256 protocolFee = (gross * $.protocolFeeBps) / BPS;
        if (protocolFee != 0) _accrueFee($.treasury, protocolFee);

        uint256 operatorFee;
        if (operator != address(0)) {
            operatorFee = (gross * terms.operatorFeeBps) / BPS;
            if (operatorFee != 0) _accrueFee(operator, operatorFee);
        }

        uint256 upstream;
        for (uint256 i; i < terms.ancestors.length; ++i) {
            uint256 royalty = (gross * terms.ancestors[i].bps) / BPS;
            if (royalty == 0) continue;
            upstream += royalty;
            IModelShares(terms.ancestorShares[i]).addRevenue(royalty);
            emit RoyaltyPaid(modelId, terms.ancestors[i].modelId, royalty);
        }

        uint256 holders = gross - protocolFee - operatorFee - upstream;
        if (holders != 0) IModelShares(terms.shares).addRevenue(holders);
        emit RevenueSplit(modelId, operator, gross, protocolFee, operatorFee, upstream, holders);
    }

    function _accrueFee(address account, uint256 amount) private {
        _vault().fees[account] += amount;
        emit FeesAccrued(account, amount);
    }

    function _terms(uint256 modelId) private view returns (IModelRegistry.PaymentTerms memory terms) {
        terms = _vault().registry.paymentTermsOf(modelId);
    }

    function _setProtocolFee(uint16 bps) private {
        if (bps > MAX_PROTOCOL_FEE_BPS) revert ProtocolFeeTooHigh(bps, MAX_PROTOCOL_FEE_BPS);
        _vault().protocolFeeBps = bps;
        emit ProtocolFeeSet(bps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        _vault().treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _setWithdrawalDelay(uint64 delay) private {
        if (delay > MAX_WITHDRAWAL_DELAY) revert WithdrawalDelayTooLong(delay, MAX_WITHDRAWAL_DELAY);
        _vault().withdrawalDelay = delay;
        emit WithdrawalDelaySet(delay);
    }

    function _authorizeUpgrade(address) internal override onlyOwner {}

    function _vault() private pure returns (VaultStorage storage $) {
        assembly {
            $.slot := VAULT_STORAGE
        }
    }
}
