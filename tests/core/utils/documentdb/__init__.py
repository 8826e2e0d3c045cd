"""Tests of core.utils.documentdb."""
