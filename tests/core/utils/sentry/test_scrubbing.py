"""The scrubbers on their own: which keys and which text they remove, and
what they leave for debugging."""

import pytest

from core.utils.sentry.scrubbing import (
    FILTERED,
    is_sensitive_key,
    scrub_breadcrumb,
    scrub_event,
    scrub_text,
)

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    "key",
    [
        "first_name",
        "patientFirstName",
        "Mobile_No",
        "phone",
        "email_address",
        "date_of_birth",
        "DOB",
        "name",
        "patient",
        "address_line_1",
        "password",
        "api_token",
        "X-Api-Key",
        "Authorization",
        "Cookie",
        "session",
        "connection_url",
        "client_secret",
        "db.params",
    ],
)
def test_sensitive_keys(key):
    assert is_sensitive_key(key)


@pytest.mark.parametrize(
    "key", ["lab_id", "status", "filename", "integration", "sample_type", "count"]
)
def test_ordinary_keys(key):
    assert not is_sensitive_key(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +91 98765 43210 now", f"call {FILTERED} now"),
        ("landline (022) 2345-6789", f"landline {FILTERED}"),
        ("mobile 9876543210.", f"mobile {FILTERED}."),
        ("mail asha.r@example.com", f"mail {FILTERED}"),
        ("mongodb://app:pw@db.internal/lis", f"mongodb://{FILTERED}@db.internal/lis"),
        ("<Patient: Asha Rao> failed", f"<Patient: {FILTERED}> failed"),
    ],
)
def test_text_loses_contact_details_credentials_and_model_reprs(text, expected):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Python 3.13.0", "lab 12, sample 1234567", "took 250 ms", "HTTP 503 from es"],
)
def test_text_without_personal_data_is_left_alone(text):
    assert scrub_text(text) == text


def _event(**parts):
    return {
        "event_id": "0123456789abcdef0123456789abcdef",
        "timestamp": "2024-05-01T09:30:00.000000Z",
        "sdk": {"name": "sentry.python.django", "version": "2.75.0"},
        "contexts": {"runtime": {"name": "CPython", "version": "3.13.0"}},
        **parts,
    }


def test_a_name_under_a_name_key_is_removed_from_all_text():
    event = _event(
        extra={"patient": {"first_name": "Meera", "last_name": "Iyer", "lab_id": 3}},
        message="Report for IYER, meera could not be rendered",
        exception={"values": [{"type": "KeyError", "value": "Meera Iyer has no sex"}]},
    )

    scrubbed = scrub_event(event, {})

    assert scrubbed["extra"] == {"patient": FILTERED}
    assert (
        scrubbed["message"]
        == f"Report for {FILTERED}, {FILTERED} could not be rendered"
    )
    assert scrubbed["exception"]["values"][0] == {
        "type": "KeyError",
        "value": f"{FILTERED} {FILTERED} has no sex",
    }


def test_a_model_repr_under_a_name_key_gives_its_words_not_its_class():
    frame = {
        "function": "render",
        "vars": {"patient": "<Patient: Kiran Das>", "title": "'Report of Kiran'"},
    }
    event = _event(exception={"values": [{"stacktrace": {"frames": [frame]}}]})

    [scrubbed] = scrub_event(event, {})["exception"]["values"][0]["stacktrace"][
        "frames"
    ]

    assert scrubbed["function"] == "render"
    assert scrubbed["vars"] == {"patient": FILTERED, "title": f"'Report of {FILTERED}'"}


def test_what_the_sdk_says_about_itself_is_kept():
    event = _event(extra={"name": "django"})

    scrubbed = scrub_event(event, {})

    # "django" was under a name key, yet the SDK's own fields keep it.
    assert scrubbed["sdk"] == {"name": "sentry.python.django", "version": "2.75.0"}
    assert scrubbed["contexts"]["runtime"] == {"name": "CPython", "version": "3.13.0"}
    assert scrubbed["event_id"] == event["event_id"]
    assert scrubbed["timestamp"] == event["timestamp"]


def test_users_keep_only_their_id_and_custom_contexts_are_scrubbed():
    event = _event(
        user={"id": 17, "email": "staff@lab.example", "username": "north.staff"},
        contexts={"patient": {"mobile": "9876543210", "lab_id": 3}},
    )

    scrubbed = scrub_event(event, {})

    assert scrubbed["user"] == {"id": 17}
    assert scrubbed["contexts"]["patient"] == {"mobile": FILTERED, "lab_id": 3}


def test_request_parts_are_scrubbed():
    event = _event(
        request={
            "url": "http://lab.example/patients/",
            "query_string": "email=a%40b.example&page=2&token=abc",
            "headers": {"Authorization": "Bearer abc", "Accept": "text/html"},
            "cookies": {"sessionid": "abc"},
            "data": [{"first_name": "Asha", "tests": ["CBC"]}],
        }
    )

    request = scrub_event(event, {})["request"]

    assert request["query_string"] == "email=[Filtered]&page=2&token=[Filtered]"
    assert request["headers"] == {"Authorization": FILTERED, "Accept": "text/html"}
    assert request["cookies"] == FILTERED
    assert request["data"] == [{"first_name": FILTERED, "tests": ["CBC"]}]


def test_a_sql_breadcrumb_loses_its_parameters():
    crumb = {
        "category": "query",
        "message": "SELECT * FROM patients WHERE email = %s",
        "data": {"db.params": ["asha.r@example.com"], "db.paramstyle": "format"},
    }

    scrubbed = scrub_breadcrumb(crumb, {})

    assert scrubbed["data"] == {"db.params": FILTERED, "db.paramstyle": "format"}
    assert scrubbed["message"] == crumb["message"]


def test_a_log_breadcrumb_loses_contact_details():
    crumb = {"category": "patients", "message": "texted +91 98765 43210", "data": {}}

    assert scrub_breadcrumb(crumb, {})["message"] == f"texted {FILTERED}"
