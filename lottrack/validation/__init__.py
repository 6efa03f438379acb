"""Computerized-system validation (GAMP 5, EU GMP Annex 11 §4): ``lottrack validate``.

An installation qualification (:mod:`lottrack.validation.iq`) and an operational
qualification (:mod:`lottrack.validation.oq_rules`, :mod:`lottrack.validation.oq_records`)
whose checks drive the real services and command line on a scratch database that the run
creates and removes. Every check is bound to requirements of ``requirements.yaml``
(:mod:`lottrack.validation.catalogue`); :mod:`lottrack.validation.run` runs them and
builds the report's data.
"""
