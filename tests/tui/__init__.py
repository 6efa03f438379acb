"""Tests of the terminal UI (Textual pilot and snapshot tests)."""
