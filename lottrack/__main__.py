"""``python -m lottrack``."""

from lottrack.cli import main

main()
