// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC721/ERC721Upgradeable.sol";
import {Ownable2StepUpgradeable} from "@openzeppelin/contracts-upgradeable/access/Ownable2StepUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelShares} from "./interfaces/IModelShares.sol";
import {CidCodec} from "./libraries/CidCodec.sol";
import {Lineage} from "./libraries/Lineage.sol";

/// @title ModelRegistry
/// @notice One ERC-721 per AI model. Minting records the weights (sha256 and CID), the model card, the price per call,
/// the operator fee and the flattened lineage, and deploys the model's share token in the same transaction. The NFT
/// owner manages the model; the revenue belongs to the share holders.
contract ModelRegistry is IModelRegistry, IERC4906, ERC721Upgradeable, Ownable2StepUpgradeable, UUPSUpgradeable {
    uint256 public constant MAX_PARENTS = 8;
    uint256 public constant MAX_ANCESTORS = 16;
    uint256 public constant MAX_UPSTREAM_BPS = 5_000;
    uint256 public constant MAX_OPERATOR_FEE_BPS = 3_000;
    uint256 public constant MAX_RECIPIENTS = 64;

    struct Model {
        // slot 0
        address shares;
        uint96 pricePerCall;
        // slot 1
        uint16 operatorFeeBps;
        uint16 upstreamBps;
        uint32 latestVersion;
        uint8 ancestorCount;
        bool paused;
    }

    struct Version {
        bytes32 weightsSha256;
        bytes32 weightsCidDigest;
        bytes32 metadataCidDigest;
        uint8 weightsCodec;
        uint8 metadataCodec;
    }

    /// @custom:storage-location erc7201:modelshare.storage.ModelRegistry
    struct RegistryStorage {
        uint256 nextModelId;
        address sharesImplementation;
        mapping(uint256 modelId => Model) models;
        mapping(uint256 modelId => mapping(uint32 version => Version)) versions;
        mapping(uint256 modelId => mapping(uint256 index => Ancestor)) ancestors;
    }

    // keccak256(abi.encode(uint256(keccak256("modelshare.storage.ModelRegistry")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant REGISTRY_STORAGE = 0x48d776f3a1fae42d63d11d43a6cbe29fe3b4a219e6c5cd61b74a05f101831f00;

    modifier onlyModelOwner(uint256 modelId) {
        if (_ownerOf(modelId) != msg.sender) {
            if (_ownerOf(modelId) == address(0)) revert UnknownModel(modelId);
            revert NotModelOwner(modelId, msg.sender);
        }
        _;
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets the owner and the share-token implementation every model's clone points to. The implementation
    /// is fixed for the registry's life, so anyone can derive a model's share address from its id.
    /// @dev Public rather than external so upgrade validation sees that later versions inherit their initialisation.
    function initialize(address owner_, address sharesImplementation_) public initializer {
        if (sharesImplementation_ == address(0)) revert ZeroAddress();
        __ERC721_init("Modelshare Model", "MODEL");
        __Ownable_init(owner_);
        RegistryStorage storage $ = _registry();
        $.nextModelId = 1;
        $.sharesImplementation = sharesImplementation_;
    }

    /// @inheritdoc IModelRegistry
    function mint(MintParams calldata p) external returns (uint256 modelId, address shares) {
        RegistryStorage storage $ = _registry();
        _checkTerms(p.pricePerCall, p.operatorFeeBps);
        _checkShareSplit(p.recipients, p.amounts);

        modelId = $.nextModelId++;
        (uint16 upstreamBps, uint8 ancestorCount) = _recordLineage($, modelId, p.parentIds, p.parentBps);
        shares = Clones.cloneDeterministicWithImmutableArgs(
            $.sharesImplementation, abi.encode(modelId), bytes32(modelId)
        );
        $.models[modelId] = Model({
            shares: shares,
            pricePerCall: p.pricePerCall,
            operatorFeeBps: p.operatorFeeBps,
            upstreamBps: upstreamBps,
            latestVersion: 1,
            ancestorCount: ancestorCount,
            paused: false
        });
        // `_mint`, not `_safeMint`: a creator's smart wallet without an ERC-721 receiver hook must be able to mint.
        _mint(msg.sender, modelId);
        emit ModelMinted(modelId, msg.sender, shares, p.pricePerCall, p.operatorFeeBps, p.recipients, p.amounts);
        _storeVersion($, modelId, 1, p.weightsSha256, p.weightsCid, p.metadataCid);
        IModelShares(shares).initialize(p.recipients, p.amounts);
    }

    /// @inheritdoc IModelRegistry
    function publishVersion(uint256 modelId, bytes32 weightsSha256, bytes calldata weightsCid, bytes calldata metadataCid)
        external
        onlyModelOwner(modelId)
        returns (uint32 version)
    {
        RegistryStorage storage $ = _registry();
        version = ++$.models[modelId].latestVersion;
        _storeVersion($, modelId, version, weightsSha256, weightsCid, metadataCid);
        emit MetadataUpdate(modelId);
    }

    /// @inheritdoc IModelRegistry
    function setPrice(uint256 modelId, uint96 pricePerCall) external onlyModelOwner(modelId) {
        Model storage m = _registry().models[modelId];
        _checkTerms(pricePerCall, m.operatorFeeBps);
        m.pricePerCall = pricePerCall;
        emit PriceChanged(modelId, pricePerCall);
    }

    /// @inheritdoc IModelRegistry
    function setOperatorFee(uint256 modelId, uint16 operatorFeeBps) external onlyModelOwner(modelId) {
        Model storage m = _registry().models[modelId];
        _checkTerms(m.pricePerCall, operatorFeeBps);
        m.operatorFeeBps = operatorFeeBps;
        emit OperatorFeeChanged(modelId, operatorFeeBps);
    }

    /// @inheritdoc IModelRegistry
    function setPaused(uint256 modelId, bool paused) external onlyModelOwner(modelId) {
        _registry().models[modelId].paused = paused;
        emit ModelPausedSet(modelId, paused);
    }

    /// @inheritdoc IModelRegistry
    function modelOf(uint256 modelId) external view returns (ModelInfo memory info) {
        Model storage m = _model(modelId);
        info = ModelInfo({
            owner: _ownerOf(modelId),
            shares: m.shares,
            pricePerCall: m.pricePerCall,
            operatorFeeBps: m.operatorFeeBps,
            upstreamBps: m.upstreamBps,
            latestVersion: m.latestVersion,
            paused: m.paused
        });
    }

    /// @inheritdoc IModelRegistry
    function versionOf(uint256 modelId, uint32 version)
        external
        view
        returns (bytes32 weightsSha256, bytes memory weightsCid, bytes memory metadataCid)
    {
        Model storage m = _model(modelId);
        if (version == 0) version = m.latestVersion;
        if (version > m.latestVersion) revert UnknownModel(modelId);
        Version storage v = _registry().versions[modelId][version];
        return (v.weightsSha256, CidCodec.encode(v.weightsCodec, v.weightsCidDigest), CidCodec.encode(v.metadataCodec, v.metadataCidDigest));
    }

    /// @inheritdoc IModelRegistry
    function ancestorsOf(uint256 modelId) public view returns (Ancestor[] memory list) {
        RegistryStorage storage $ = _registry();
        uint256 n = _model(modelId).ancestorCount;
        list = new Ancestor[](n);
        for (uint256 i; i < n; ++i) {
            list[i] = $.ancestors[modelId][i];
        }
    }

    /// @inheritdoc IModelRegistry
    function paymentTermsOf(uint256 modelId) external view returns (PaymentTerms memory terms) {
        RegistryStorage storage $ = _registry();
        Model storage m = _model(modelId);
        terms.shares = m.shares;
        terms.operatorFeeBps = m.operatorFeeBps;
        terms.paused = m.paused;
        terms.ancestors = ancestorsOf(modelId);
        terms.ancestorShares = new address[](terms.ancestors.length);
        for (uint256 i; i < terms.ancestors.length; ++i) {
            terms.ancestorShares[i] = $.models[terms.ancestors[i].modelId].shares;
        }
    }

    /// @inheritdoc IModelRegistry
    function sharesOf(uint256 modelId) external view returns (address) {
        return _model(modelId).shares;
    }

    /// @inheritdoc IModelRegistry
    function sharesImplementation() external view returns (address) {
        return _registry().sharesImplementation;
    }

    /// @inheritdoc IModelRegistry
    function nextModelId() external view returns (uint256) {
        return _registry().nextModelId;
    }

    /// @notice `ipfs://<metadata CID>` of the model's latest version.
    function tokenURI(uint256 modelId) public view override returns (string memory) {
        Model storage m = _model(modelId);
        Version storage v = _registry().versions[modelId][m.latestVersion];
        return string.concat("ipfs://", CidCodec.toBase32String(v.metadataCodec, v.metadataCidDigest));
    }

    /// @dev Advertises ERC-4906 so marketplaces refresh metadata when a version is published.
    function supportsInterface(bytes4 interfaceId) public view override(ERC721Upgradeable, IERC165) returns (bool) {
        return interfaceId == bytes4(0x49064906) || super.supportsInterface(interfaceId);
    }

    function _authorizeUpgrade(address) internal override onlyOwner {}

    function _checkTerms(uint256 price, uint256 operatorFeeBps) private pure {
        if (price == 0) revert PriceOutOfRange(price);
        if (operatorFeeBps > MAX_OPERATOR_FEE_BPS) revert OperatorFeeTooHigh(operatorFeeBps, MAX_OPERATOR_FEE_BPS);
    }

    function _storeVersion(
        RegistryStorage storage $,
        uint256 modelId,
        uint32 version,
        bytes32 weightsSha256,
        bytes calldata weightsCid,
        bytes calldata metadataCid
    ) private {
        if (weightsSha256 == bytes32(0)) revert InvalidWeightsHash();
        (uint8 wCodec, bytes32 wDigest) = CidCodec.decode(weightsCid);
        (uint8 mCodec, bytes32 mDigest) = CidCodec.decode(metadataCid);
        if (wCodec == 0 || mCodec == 0) revert InvalidCid();
        $.versions[modelId][version] = Version(weightsSha256, wDigest, mDigest, wCodec, mCodec);
        emit VersionPublished(modelId, version, weightsSha256, weightsCid, metadataCid);
    }

    function _checkShareSplit(address[] calldata recipients, uint256[] calldata amounts) private pure {
        if (recipients.length != amounts.length) revert LengthMismatch();
        if (recipients.length == 0) revert NoRecipients();
        if (recipients.length > MAX_RECIPIENTS) revert TooManyRecipients(recipients.length, MAX_RECIPIENTS);
        uint256 supply;
        for (uint256 i; i < recipients.length; ++i) {
            if (recipients[i] == address(0)) revert ZeroRecipient();
            if (amounts[i] == 0) revert ZeroShareAmount();
            supply += amounts[i];
        }
        // The royalty accumulator's precision argument (see ModelShares) assumes a supply below 2^96.
        if (supply > type(uint96).max) revert SupplyTooLarge(supply);
    }

    function _recordLineage(
        RegistryStorage storage $,
        uint256 modelId,
        uint256[] calldata parentIds,
        uint16[] calldata parentBps
    ) private returns (uint16 upstreamBps, uint8 count) {
        if (parentIds.length != parentBps.length) revert LengthMismatch();
        if (parentIds.length > MAX_PARENTS) revert TooManyParents(parentIds.length, MAX_PARENTS);
        if (parentIds.length == 0) return (0, 0);

        uint256 total;
        Ancestor[][] memory upstream = new Ancestor[][](parentIds.length);
        for (uint256 i; i < parentIds.length; ++i) {
            uint256 parentId = parentIds[i];
            if (_ownerOf(parentId) == address(0)) revert UnknownModel(parentId);
            if (parentBps[i] == 0) revert ZeroParentBps(parentId);
            for (uint256 j; j < i; ++j) {
                if (parentIds[j] == parentId) revert DuplicateParent(parentId);
            }
            total += parentBps[i];
            upstream[i] = ancestorsOf(parentId);
        }
        if (total > MAX_UPSTREAM_BPS) revert UpstreamTooHigh(total, MAX_UPSTREAM_BPS);

        (Ancestor[] memory rows, uint256 n) = Lineage.flatten(parentIds, parentBps, upstream, MAX_ANCESTORS);
        if (n > MAX_ANCESTORS) revert TooManyAncestors(n, MAX_ANCESTORS);
        for (uint256 i; i < n; ++i) {
            $.ancestors[modelId][i] = rows[i];
            emit AncestorRecorded(modelId, rows[i].modelId, rows[i].bps);
        }
        for (uint256 i; i < parentIds.length; ++i) {
            emit ParentDeclared(modelId, parentIds[i], parentBps[i]);
        }
        return (uint16(total), uint8(n));
    }

    function _model(uint256 modelId) private view returns (Model storage m) {
        m = _registry().models[modelId];
        if (m.shares == address(0)) revert UnknownModel(modelId);
    }

    function _registry() private pure returns (RegistryStorage storage $) {
        assembly {
            $.slot := REGISTRY_STORAGE
        }
    }
}
