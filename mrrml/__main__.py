"""``python -m mrrml`` is the ``mrrml`` command."""

import sys

from .cli import main

sys.exit(main())
