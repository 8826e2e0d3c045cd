"""Files the tests keep for people to look at: var/test-artifacts/ in the
repository (var/ is not committed).

Both runs of scripts/test.sh (PostgreSQL and SQLite, side by side) keep the
same names here. So a test checks what it took, in memory, and only then
keeps it: reading the kept file back could find the other run's, or none.
A kept file is replaced whole, never seen half written.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


def artifact_path(name: str) -> Path:
    """Where `name` (e.g. "demo-home.png") is kept."""
    return ARTIFACTS / name


def keep(name: str, content: bytes) -> Path:
    """Keep `content` as `name`, replacing any earlier one; its path."""
    path = artifact_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as draft:
        draft.write(content)
    os.replace(draft.name, path)
    return path


def shoot(page: Any, name: str, taken: dict[str, bytes]) -> None:
    """Screenshot a Playwright page (all of it) into `taken[name]`, kept at
    once as <name>.png, so a test that fails later still leaves it."""
    taken[name] = page.screenshot(full_page=True)
    keep(f"{name}.png", taken[name])
