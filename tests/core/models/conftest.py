"""Fixtures for model tests that run jobs (notify_on_slack)."""

from tests.fusion_fixtures import database_engine, run_worker  # noqa: F401
