"""Documents (reportlab): render frozen data objects built by the core; no database here."""
