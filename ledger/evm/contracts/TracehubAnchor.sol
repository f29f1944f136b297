// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title TracehubAnchor
/// @notice Records Merkle batch roots (RFC 6962) of tracehub evidence, once each.
/// @dev A root is write-once: nothing anchored can be changed, only looked up.
contract TracehubAnchor {
    struct Anchor {
        uint64 size;
        uint64 blockNumber;
        uint64 timestamp;
        address anchorer;
        bytes32 metadata;
    }

    address public immutable owner;

    mapping(address account => bool allowed) public isAnchorer;
    mapping(bytes32 root => Anchor anchor) private anchors;

    event Anchored(bytes32 indexed root, uint64 size, bytes32 metadata, address indexed anchorer);
    event AnchorerSet(address indexed account, bool allowed);

    error ZeroRoot();
    error ZeroSize();
    error AlreadyAnchored(bytes32 root);
    error NotAnchorer(address caller);
    error NotOwner(address caller);

    constructor() {
        owner = msg.sender;
        isAnchorer[msg.sender] = true;
        emit AnchorerSet(msg.sender, true);
    }

    /// @notice Allow or deny an address to anchor roots. Only the owner may call it.
    function setAnchorer(address account, bool allowed) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        isAnchorer[account] = allowed;
        emit AnchorerSet(account, allowed);
    }

    /// @notice Anchor a batch root with its leaf count and a hash of its metadata.
    function anchor(bytes32 root, uint64 size, bytes32 metadata) external {
        if (!isAnchorer[msg.sender]) revert NotAnchorer(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        if (size == 0) revert ZeroSize();
        if (anchors[root].size != 0) revert AlreadyAnchored(root);
        anchors[root] = Anchor({
            size: size,
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp),
            anchorer: msg.sender,
            metadata: metadata
        });
        emit Anchored(root, size, metadata, msg.sender);
    }

    /// @notice What was recorded for a root; size 0 means the root was never anchored.
    function anchorOf(bytes32 root)
        external
        view
        returns (uint64 size, bytes32 metadata, uint64 blockNumber, uint64 timestamp, address anchorer)
    {
        Anchor storage a = anchors[root];
        return (a.size, a.metadata, a.blockNumber, a.timestamp, a.anchorer);
    }
}
