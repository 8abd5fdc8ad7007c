"""python -m apps.worker"""

import sys

from apps.worker.main import main

sys.exit(main())
