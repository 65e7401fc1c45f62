"""codellama-ls: inline code completions from a local Code Llama model, over LSP."""

__version__ = "0.1.0"
