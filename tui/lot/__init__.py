"""A lot's batch record as the lab and QA both read it: the head line, the tables of its
tabs and the data they are filled from.
"""
