"""Issued documents (design §9): the data they print, signing, issuing and verifying.

The core builds a frozen data object (:mod:`lottrack.views.documents.data`), a renderer in the
``certificates`` package draws it, and :func:`lottrack.views.documents.issue.issue` signs the
PDF, records its SHA-256 and writes it. Nothing here imports reportlab; the PDF signing
library (pyHanko) is imported inside the functions that need it.
"""
