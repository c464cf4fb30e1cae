// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title Lineage
/// @notice Flattens a model's ancestry at mint, so that splitting a payment costs a bounded amount of gas whatever
/// the depth. A parent P declared with `b` bps whose own flattened ancestry gives `a` bps to G yields `b * a / 10000`
/// bps to G and the remainder of `b` to P: royalties flow up the tree exactly as if P re-split what it received.
library Lineage {
    uint256 internal constant BPS = 10_000;

    /// @param parentBps bps per direct parent; their total is checked by the caller.
    /// @param parentAncestors each parent's own flattened ancestry.
    /// @return rows merged flattened ancestry; ancestors reached through several paths are summed.
    /// @return count number of meaningful rows in `rows`.
    function flatten(
        uint256[] calldata parentIds,
        uint16[] calldata parentBps,
        IModelRegistry.Ancestor[][] memory parentAncestors,
        uint256 maxRows
    ) internal pure returns (IModelRegistry.Ancestor[] memory rows, uint256 count) {
        rows = new IModelRegistry.Ancestor[](maxRows + 1);
        for (uint256 i; i < parentIds.length; ++i) {
            uint256 own = parentBps[i];
            IModelRegistry.Ancestor[] memory upstream = parentAncestors[i];
            for (uint256 k; k < upstream.length; ++k) {
                uint256 share = (uint256(parentBps[i]) * upstream[k].bps) / BPS;
                if (share == 0) continue;
                own -= share;
                count = _add(rows, count, upstream[k].modelId, share);
            }
            if (own != 0) count = _add(rows, count, uint240(parentIds[i]), own);
        }
    }

    function _add(IModelRegistry.Ancestor[] memory rows, uint256 count, uint240 modelId, uint256 bps)
        private
        pure
        returns (uint256)
    {
        // Rows past the array's end were never written (the caller reverts on overflow): search only written rows.
        uint256 written = count < rows.length ? count : rows.length;
        for (uint256 j; j < written; ++j) {
            if (rows[j].modelId == modelId) {
                rows[j].bps += uint16(bps);
                return count;
            }
        }
        // The array has one spare row so the caller can detect overflow without an out-of-bounds panic here.
        if (count < rows.length) rows[count] = IModelRegistry.Ancestor(modelId, uint16(bps));
        return count + 1;
    }
}
