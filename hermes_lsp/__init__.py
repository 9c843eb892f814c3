"""hermes-lsp: a language server that turns a self-hosted Hermes 4 model into an IDE assistant."""

__version__ = "0.1.0"
