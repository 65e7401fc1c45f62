"""Prompts at token level: fill-in-the-middle and chat (pure); the engines below the pipeline build on them."""
