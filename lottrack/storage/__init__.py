"""Storage: the database and what it keeps by itself. The SQLModel tables, engines and
sessions (SQLite or PostgreSQL), the Alembic migrations, compiled fast reads, backups,
trial-wide settings, and the audit trail the sessions write on every change, with its
anchors signed by the facility key.
"""
