"""What the tests share: generated GGUFs, the scripted server, LSP clients, a llama-server, markers."""
