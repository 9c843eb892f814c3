"""LSP features built on the model: completion, code actions."""
