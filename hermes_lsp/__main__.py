"""Allow ``python -m hermes_lsp``."""

import sys

from hermes_lsp.cli import main

sys.exit(main())
