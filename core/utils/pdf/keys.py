"""Where stored PDFs live in the file store (`get_client("s3")`), per lab.

    labs/<lab_id>/reports/<name>.pdf        a lab's stored PDFs
    labs/<lab_id>/pdf-requests/<id>.json    what a background job is to render

The lab id in the key is the only thing that says whose a file is, so every
read of a client-given key goes through `report_key_lab()`: a key that is
not exactly of the first form (no leading zeros, no other folder) belongs to
nobody and is refused like a missing file. Requests are kept outside
`reports/` so that a client can never ask for one back.
"""

import re
import uuid

from core.utils.aws.exceptions import InvalidKey
from core.utils.aws.keys import validate_key

#: A stored report's key: the lab id without leading zeros, then anything
#: validate_key accepts below reports/.
_REPORT_KEY = re.compile(r"\Alabs/(?P<lab_id>[1-9][0-9]{0,17})/reports/.+\Z")
#: A job id as new_job_id() makes them: 32 lower-case hex digits.
_JOB_ID = re.compile(r"\A[0-9a-f]{32}\Z")


def new_job_id() -> str:
    """A new, unguessable id for a background PDF. Example: "9f1c...e0" (32 hex)."""
    return uuid.uuid4().hex


def check_job_id(job_id: object) -> str:
    """`job_id` if new_job_id() could have made it, else ValueError."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise ValueError(f"A PDF job id is 32 lower-case hex digits, not {job_id!r}.")
    return job_id


def report_key(lab_id: int, job_id: str) -> str:
    """Where the PDF of job `job_id` for `lab_id` is stored.

    Example: `report_key(12, "9f1c...e0")` -> "labs/12/reports/9f1c...e0.pdf".
    """
    return f"labs/{int(lab_id)}/reports/{check_job_id(job_id)}.pdf"


def request_key(lab_id: int, job_id: str) -> str:
    """Where the request of job `job_id` for `lab_id` waits for the worker.

    Example: `request_key(12, "9f1c...e0")` -> "labs/12/pdf-requests/9f1c...e0.json".
    """
    return f"labs/{int(lab_id)}/pdf-requests/{check_job_id(job_id)}.json"


def report_key_lab(key: object) -> int | None:
    """The lab a stored report's key belongs to, or None when `key` is not a
    report key at all (not text, not a clean path, not under
    labs/<id>/reports/).

    Example: `report_key_lab("labs/12/reports/a.pdf") == 12`;
    `report_key_lab("labs/012/reports/a.pdf")` and
    `report_key_lab("labs/12/pdf-requests/a.json")` are None.
    """
    try:
        clean = validate_key(key)
    except InvalidKey:
        return None
    match = _REPORT_KEY.match(clean)
    return int(match["lab_id"]) if match else None
