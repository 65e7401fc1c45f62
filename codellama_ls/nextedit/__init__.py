"""Next-edit suggestions: the edit history, the editable region, the prompts, the edits."""
