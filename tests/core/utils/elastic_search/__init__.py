"""Tests of core.utils.elastic_search."""
