"""Entry point for python -m nnapps."""

import sys

from .cli import main

sys.exit(main())
