"""python -m injector: the same as the s6g-inject console script."""

import sys

from injector.cli import main

sys.exit(main())
