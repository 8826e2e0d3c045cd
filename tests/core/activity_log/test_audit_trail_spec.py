"""docs/audit-trail.md is the contract inspectors verify against: its
worked examples hash as it says, link into one chain, are RFC 8785
canonical, and are exactly what the project hashes for such entries; its
field table names exactly the hashed fields."""

import datetime as dt
import hashlib
import itertools
import json
import re
from pathlib import Path

import pytest
import rfc8785

from core.activity_log.hashing import GENESIS_HASH, HASHED_FIELDS, canonical
from core.models import ActivityLog

pytestmark = pytest.mark.engine_independent

SPEC = Path(__file__).resolve().parents[3] / "docs" / "audit-trail.md"
BLOCK = re.compile(
    r"```audit-example\nprevious_hash: (?P<previous>[0-9a-f]{64})\n"
    r"canonical: (?P<canonical>.+)\nentry_hash: (?P<hash>[0-9a-f]{64})\n```"
)


def examples() -> list[dict[str, str]]:
    return [match.groupdict() for match in BLOCK.finditer(SPEC.read_text("utf-8"))]


def test_the_spec_has_arabic_and_devanagari_examples() -> None:
    texts = [example["canonical"] for example in examples()]

    assert len(texts) >= 3
    assert any(re.search("[\u0600-\u06ff]", text) for text in texts)
    assert any(re.search("[\u0900-\u097f]", text) for text in texts)


@pytest.mark.parametrize("example", examples(), ids=lambda e: e["hash"][:8])
def test_each_example_hashes_as_the_spec_says(example: dict[str, str]) -> None:
    text = example["canonical"].encode("utf-8")

    digest = hashlib.sha256(text + example["previous"].encode("ascii")).hexdigest()

    assert digest == example["hash"]
    assert rfc8785.dumps(json.loads(text)) == text  # it is the JCS form


def test_the_examples_form_one_chain_from_genesis() -> None:
    chain = examples()

    assert chain[0]["previous"] == GENESIS_HASH
    for before, after in itertools.pairwise(chain):
        assert after["previous"] == before["hash"]


@pytest.mark.parametrize("example", examples(), ids=lambda e: e["hash"][:8])
def test_the_project_hashes_such_an_entry_to_the_examples_bytes(
    example: dict[str, str],
) -> None:
    document = json.loads(example["canonical"])
    fields = {**document, "created_at": _instant(document["created_at"])}

    assert canonical(ActivityLog(**fields)) == example["canonical"].encode("utf-8")


def test_the_field_table_names_exactly_the_hashed_fields() -> None:
    section = SPEC.read_text("utf-8").split("## 2.")[1].split("## 3.")[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)

    assert listed == list(HASHED_FIELDS)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
