"""Which model: presets, the download cache, turning the `model` setting into a file, loading it."""
