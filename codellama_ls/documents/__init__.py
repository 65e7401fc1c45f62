"""Open documents: text, positions, languages and what the syntax tree says (pure)."""
