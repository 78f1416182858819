"""``python -m kerasdoc`` is the ``kerasdoc`` command."""

import sys

from kerasdoc.cli import main

sys.exit(main())
