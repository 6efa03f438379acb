"""The kernel: rules that need no database. Errors a person can read, free-text and
quantity input (pint units), the calculations of the batch record and the dose rule,
ISBT 128 identifiers, typed times, private files, logging and where things are kept.
Everything else builds on it; it imports nothing of lottrack's.
"""
