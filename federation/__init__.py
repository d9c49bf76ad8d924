"""The node-to-node protocol of a federation of Huren nodes (one node per region, DESIGN.md "Federation").

Nodes share only the chain. They find and trust each other only through the chain's node
registry (`federation.directory`), sign every request to another node with HTTP Message
Signatures, RFC 9421 (`federation.signing`), check every request from another node against the
registry at the request's own time, with a short validity and a nonce against replay
(`federation.checking`, `federation.replay`, `federation.fastapi_guard`), and call a peer by its
region only, never by a URL taken from a code or a request (`federation.peers`).

`api/` uses this package; this package never imports `api/`.
"""
