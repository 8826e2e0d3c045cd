"""Tests of core.middleware: request ids, API keys, lab context, sessions,
rate limits and JSON errors."""
