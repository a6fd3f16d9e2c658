"""`python -m chainrule`: the same command as `chainrule`."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
