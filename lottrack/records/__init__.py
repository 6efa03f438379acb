"""Records of people: accounts and passwords, the permission table every service checks,
electronic signatures, and the safekeeping acts (backups, audit checks) a person runs.
"""
