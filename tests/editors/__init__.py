"""Real editors (Neovim, Emacs) and the VS Code extension at the protocol level."""
