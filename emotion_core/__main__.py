"""``python -m emotion_core``: the command line."""

import sys

from emotion_core.cli import main

sys.exit(main())
