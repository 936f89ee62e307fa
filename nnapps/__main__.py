"""Entry point for python -m nnapps."""

import sys

from nnapps.cli import main

sys.exit(main())
