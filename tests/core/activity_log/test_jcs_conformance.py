"""The three RFC 8785 implementations agree on arbitrary JSON: `rfc8785`
(the library that seals entries, which we did not write), the standard-
library one in tools/verify_audit_export.py, and the Node one in
tools/verify_audit_export.mjs (JSON.stringify with sorted members)."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.activity_log.verifiers import TOOLS, stdlib_verifier

pytestmark = pytest.mark.engine_independent

SAFE = 2**53 - 1

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-SAFE, SAFE)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
    ),
    max_leaves=12,
)


VERIFIER = stdlib_verifier()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_the_stdlib_verifier_canonicalizes_as_rfc8785_does(value: Any) -> None:
    assert VERIFIER.jcs(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "number",
    [0.0, -0.0, 1.0, 0.1, 1e-7, 1e-6, 1e21, 1e20, 123456789012345680000.0,
     5e-324, 1.7976931348623157e308, 4.35, 0.000001, 2.5e-7, 1e300],
)  # fmt: skip
def test_the_stdlib_verifier_writes_numbers_as_ecmascript(number: float) -> None:
    assert VERIFIER.jcs(number) == rfc8785.dumps(number)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_the_node_verifier_canonicalizes_as_rfc8785_does(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    values = [json_values.example() for _ in range(300)]
    values += [[0.1, 1e-7, 1e21, -0.0, 5e-324], {"\U0001f600": 1, "\ufb01": 2}]
    (tmp_path / "values.json").write_text(json.dumps(values), encoding="utf-8")
    script = tmp_path / "canonical.mjs"
    script.write_text(
        f'import {{ jcs }} from "{(TOOLS / "verify_audit_export.mjs").as_uri()}";\n'
        'import { readFileSync } from "node:fs";\n'
        'const values = JSON.parse(readFileSync(process.argv[2], "utf8"));\n'
        "for (const value of values) console.log(JSON.stringify(jcs(value)));\n",
        encoding="utf-8",
    )

    done = subprocess.run(
        [node, str(script), str(tmp_path / "values.json")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip

    lines = done.stdout.split("\n")[:-1]  # LF only: U+2028 is not escaped
    canonical = [json.loads(line) for line in lines]
    assert canonical == [rfc8785.dumps(value).decode() for value in values]
