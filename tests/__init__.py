"""The hermes-lsp test suite."""
