"""lottrack: chain of identity and GMP batch records for autologous MSC products."""

__version__ = "0.1.0"
