"""What every role's screens share: the screen base, login, password change, help, the
start screen shown when the database cannot be opened, the form bases (plain and signed),
the paged list and the trial screen base.
"""
