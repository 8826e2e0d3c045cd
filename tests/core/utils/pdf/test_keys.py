"""Keys of stored PDFs: made per lab, and read back to the one lab they
belong to, or to none."""

from typing import Any

import pytest

from core.utils.pdf.keys import (
    check_job_id,
    new_job_id,
    report_key,
    report_key_lab,
    request_key,
)

pytestmark = pytest.mark.engine_independent


def test_a_job_has_a_report_key_and_a_request_key_in_its_labs_folder() -> None:
    job_id = new_job_id()

    assert report_key(12, job_id) == f"labs/12/reports/{job_id}.pdf"
    assert request_key(12, job_id) == f"labs/12/pdf-requests/{job_id}.json"
    assert report_key_lab(report_key(12, job_id)) == 12
    assert report_key_lab(request_key(12, job_id)) is None  # never readable back
    assert new_job_id() != job_id


@pytest.mark.parametrize("job_id", ["", "../x", "A" * 32, "a" * 31, 7, None])
def test_a_job_id_not_made_here_is_refused(job_id: Any) -> None:
    with pytest.raises(ValueError, match="32 lower-case hex digits"):
        check_job_id(job_id)
    with pytest.raises(ValueError):
        report_key(12, job_id)


@pytest.mark.parametrize(
    ("key", "lab_id"),
    [
        ("labs/12/reports/a.pdf", 12),
        ("labs/12/reports/2026/05/a.pdf", 12),
        ("labs/012/reports/a.pdf", None),
        ("labs/0/reports/a.pdf", None),
        ("labs/12/reports/", None),
        ("labs/12/reports/../../13/reports/a.pdf", None),
        ("labs/12/other/a.pdf", None),
        ("/labs/12/reports/a.pdf", None),
        ("labs/12/reports/a\x00.pdf", None),
        ("labs/1" + "0" * 18 + "/reports/a.pdf", None),
        (12, None),
        (None, None),
    ],
)
def test_a_key_belongs_to_its_lab_or_to_none(key: Any, lab_id: int | None) -> None:
    assert report_key_lab(key) == lab_id
