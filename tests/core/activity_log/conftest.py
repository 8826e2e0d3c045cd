"""Fixtures for activity log tests that run Fusion maintenance rounds."""

from tests.fusion_fixtures import database_engine  # noqa: F401
