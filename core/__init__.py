"""The core app: shared infrastructure every domain app builds on (no domain logic)."""
