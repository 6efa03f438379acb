"""Demonstration data built through the real services: the demo database with one person
per role, the demo trial in every state, the scenario steps the end-to-end tests share,
and the bulk generator for benchmarks.
"""
