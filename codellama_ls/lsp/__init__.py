"""LSP wiring: framing, the hardened JSON-RPC layer, the handlers, completion items."""
