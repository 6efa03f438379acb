"""``python -m lottrack``."""

from lottrack.launch import main

main()
