"""The standalone verifiers in tools/, for tests: the standard-library one
loaded as a module (it is a single file outside any package)."""

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parents[3] / "tools"


@cache
def stdlib_verifier() -> Any:
    """tools/verify_audit_export.py as a module (its jcs, ed25519_verify...)."""
    spec = importlib.util.spec_from_file_location(
        "verify_audit_export", TOOLS / "verify_audit_export.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
