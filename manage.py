#!/usr/bin/env python
"""Django's command-line utility; ``amends`` is the same thing, installed as a script."""

import sys

from amends.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
