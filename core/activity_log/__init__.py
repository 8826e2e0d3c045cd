"""The activity log: shipping quarantine (core/utils/activity_log moves here)."""
