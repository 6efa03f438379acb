"""Administration: user accounts (new, reset, roles) and sites."""
