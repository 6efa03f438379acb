"""QA's work: the review of a lot and its e-signed decision, specification versions, the
audit trail.
"""
