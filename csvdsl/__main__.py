"""``python -m csvdsl``: the command line."""

import sys

from csvdsl.cli import main

sys.exit(main())
