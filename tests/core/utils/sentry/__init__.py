"""Tests of core.utils.sentry."""
