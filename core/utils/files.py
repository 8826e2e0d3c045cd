"""Files created once by whichever process comes first.

`create_once(path, text)`: for files a process generates on first use and
every process then reads (the development secret key, the development
encryption keys). Processes starting together (a web server and its worker
in a new checkout, two test runs) must all read the first one's complete
file: the text is written aside (mode 0600, synced), then linked into
place, which fails if the file exists, leaving the winner's untouched.
"""

import os
import tempfile
from pathlib import Path


def create_once(path: Path, text: str) -> bool:
    """Create `path` (mode 0600) holding `text` unless it exists; True if
    this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(draft)
    return True
