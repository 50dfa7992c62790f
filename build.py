#!/usr/bin/env python3
"""Entry point: `python build.py [build|check] ...` (see README)."""

import sys

from briefkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
