"""``python -m mrrml.cli`` is the ``mrrml`` command."""

import sys

from . import main

sys.exit(main())
