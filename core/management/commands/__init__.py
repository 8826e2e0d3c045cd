"""`manage.py` commands of the core app (job worker, dead letters, recovery)."""
