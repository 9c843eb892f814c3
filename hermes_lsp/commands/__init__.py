"""Subcommands of ``hermes-lsp`` that are not the server itself."""
