"""Kept test artifacts (tests/artifacts.py): replaced whole, no drafts left."""

import uuid

import pytest

from tests.artifacts import artifact_path, keep

pytestmark = pytest.mark.engine_independent


def test_a_kept_file_is_replaced_whole_and_leaves_no_draft():
    name = f"probe-{uuid.uuid4().hex}/picture.png"
    try:
        first = keep(name, b"first")
        second = keep(name, b"second, longer")

        assert first == second == artifact_path(name)
        assert second.read_bytes() == b"second, longer"
        assert [p.name for p in second.parent.iterdir()] == ["picture.png"]
    finally:
        artifact_path(name).unlink(missing_ok=True)
        artifact_path(name).parent.rmdir()
