"""The facility: sites (how their staff write numbers and read clocks), trial subjects
with their chain-of-identity ids, and the DINs allocated per facility and year.
"""
