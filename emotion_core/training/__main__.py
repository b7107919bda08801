"""``python -m emotion_core.training``: train our emotion model where only torch, NumPy and OpenCV
are installed (a GPU machine), without the app's other dependencies."""

import sys

from emotion_core.training.train import main

sys.exit(main())
