"""Release: what QA decides. The canonical batch record a release signature covers, and
the disposition of a lot (release, reject, quarantine) with its e-signed decisions.
"""
