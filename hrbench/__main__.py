"""``python -m hrbench``: the same as the ``hrbench`` command."""

import sys

from .cli import main

sys.exit(main())
