// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IModelRegistry
/// @notice Registry of AI models: one ERC-721 per model, with its weights, price, fees, lineage and share token.
interface IModelRegistry {
    /// @notice One entry of a model's flattened ancestry: `bps` of every payment to the model goes to `modelId`.
    struct Ancestor {
        uint240 modelId;
        uint16 bps;
    }

    /// @notice Everything `mint` records. CIDs are binary CIDv1 with a sha2-256 multihash (36 bytes).
    struct MintParams {
        bytes32 weightsSha256;
        bytes weightsCid;
        bytes metadataCid;
        uint96 pricePerCall;
        uint16 operatorFeeBps;
        uint256[] parentIds;
        uint16[] parentBps;
        address[] recipients;
        uint256[] amounts;
    }

    /// @notice A model's mutable state, as returned by `modelOf`.
    struct ModelInfo {
        address owner;
        address shares;
        uint96 pricePerCall;
        uint16 operatorFeeBps;
        uint16 upstreamBps;
        uint32 latestVersion;
        bool paused;
    }

    /// @notice What the vault needs to split a payment to a model.
    struct PaymentTerms {
        address shares;
        uint16 operatorFeeBps;
        bool paused;
        Ancestor[] ancestors;
        address[] ancestorShares;
    }

    event ModelMinted(
        uint256 indexed modelId,
        address indexed owner,
        address indexed shares,
        uint96 pricePerCall,
        uint16 operatorFeeBps,
        address[] recipients,
        uint256[] amounts
    );
    event VersionPublished(
        uint256 indexed modelId,
        uint32 indexed version,
        bytes32 weightsSha256,
        bytes weightsCid,
        bytes metadataCid
    );
    /// @notice A direct parent declared at mint, with the bps the creator gave it.
    event ParentDeclared(uint256 indexed modelId, uint256 indexed parentId, uint16 bps);
    /// @notice One row of the flattened ancestry used for every payment split.
    event AncestorRecorded(uint256 indexed modelId, uint256 indexed ancestorId, uint16 bps);
    event PriceChanged(uint256 indexed modelId, uint96 pricePerCall);
    event OperatorFeeChanged(uint256 indexed modelId, uint16 operatorFeeBps);
    event ModelPausedSet(uint256 indexed modelId, bool paused);

    error InvalidCid();
    error InvalidWeightsHash();
    error PriceOutOfRange(uint256 price);
    error OperatorFeeTooHigh(uint256 bps, uint256 max);
    error TooManyParents(uint256 count, uint256 max);
    error UnknownModel(uint256 modelId);
    error DuplicateParent(uint256 parentId);
    error ZeroParentBps(uint256 parentId);
    error UpstreamTooHigh(uint256 bps, uint256 max);
    error TooManyAncestors(uint256 count, uint256 max);
    error LengthMismatch();
    error NoRecipients();
    error TooManyRecipients(uint256 count, uint256 max);
    error ZeroRecipient();
    error ZeroShareAmount();
    error SupplyTooLarge(uint256 supply);
    error NotModelOwner(uint256 modelId, address caller);
    error ZeroAddress();

    function mint(MintParams calldata params) external returns (uint256 modelId, address shares);
    function publishVersion(uint256 modelId, bytes32 weightsSha256, bytes calldata weightsCid, bytes calldata metadataCid)
        external
        returns (uint32 version);
    function setPrice(uint256 modelId, uint96 pricePerCall) external;
    function setOperatorFee(uint256 modelId, uint16 operatorFeeBps) external;
    function setPaused(uint256 modelId, bool paused) external;

    function modelOf(uint256 modelId) external view returns (ModelInfo memory);
    function versionOf(uint256 modelId, uint32 version)
        external
        view
        returns (bytes32 weightsSha256, bytes memory weightsCid, bytes memory metadataCid);
    function ancestorsOf(uint256 modelId) external view returns (Ancestor[] memory);
    function paymentTermsOf(uint256 modelId) external view returns (PaymentTerms memory);
    function sharesOf(uint256 modelId) external view returns (address);
    function sharesImplementation() external view returns (address);
    function nextModelId() external view returns (uint256);
}
