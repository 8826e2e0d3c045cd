"""create_once (core/utils/files.py): the first writer's file, whole, 0600;
later callers keep it and leave no draft behind. Processes racing for it:
tests/config/test_settings.py starts sixteen at once."""

import pytest

from core.utils.files import create_once

pytestmark = pytest.mark.engine_independent


def test_the_first_call_creates_the_file_and_later_ones_keep_it(tmp_path):
    path = tmp_path / "keys" / "development"

    assert create_once(path, "first") is True
    assert create_once(path, "second") is False

    assert path.read_text() == "first"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["development"]
