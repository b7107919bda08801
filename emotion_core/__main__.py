"""``python -m emotion_core``: the command line."""

import sys

from emotion_core.cli.main import main

sys.exit(main())
