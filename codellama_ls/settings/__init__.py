"""The settings: the schema that declares each setting once, the layers that resolve it, the generated docs."""
