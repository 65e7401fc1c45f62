"""The real server over stdio (or TCP), driven like an editor."""
