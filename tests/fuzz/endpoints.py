"""What the fuzz test sends to each endpoint: by URL name, the methods it
accepts, how its URL is made, and the fields of its body (or query, or
form) with plausible values, so that fuzzed requests reach past the first
check into the code behind it. tests/test_every_url_fuzzed.py fails for a
URL that is neither here nor declared to take no input, so a new endpoint
cannot ship without being fuzzed."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.urls import reverse
from hypothesis import strategies as st

from tests.fuzz.json_text import ANY_CHARACTER, encoded, values
from tests.pdf_fixtures import SUMMARY_CONTEXT


@dataclass(frozen=True)
class World:
    """What the fuzzed requests may name: the labs' ids (the caller's own
    lab, a child lab, an unrelated lab), patients in each, the signed-in
    staff user, and a stored file with a valid signed link."""

    lab_id: int
    child_lab_id: int
    other_lab_id: int
    patient_ids: tuple[int, ...]
    username: str
    password: str
    stored_key: str
    signed_link: str


Strategies = dict[str, st.SearchStrategy[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One URL name's fuzzing: `methods` it accepts; `path(world)` its URLs;
    `shapes(world)` the shapes its body takes, each a mapping of field name
    -> JSON text of a plausible value (a form's: text); `query(world)` its
    query parameters (name -> text); `form` when the body is a form, not
    JSON; `examples` per method it accepts, in the CI profile."""

    methods: tuple[str, ...]
    path: Callable[[World], st.SearchStrategy[str]]
    shapes: Callable[[World], list[Strategies]] = field(default=lambda world: [])
    query: Callable[[World], Strategies] = field(default=lambda world: {})
    form: bool = False
    examples: int = 30


def fixed(name: str) -> Callable[[World], st.SearchStrategy[str]]:
    """The one URL of the URL name `name`."""
    return lambda world: st.just(reverse(name))


def lab_ids(world: World) -> st.SearchStrategy[int]:
    return st.sampled_from([world.lab_id, world.child_lab_id, world.other_lab_id])


def ids(world: World) -> st.SearchStrategy[int]:
    """Ids: real ones of every lab, 0, negatives and ones no column holds."""
    return st.one_of(
        st.sampled_from([*world.patient_ids, world.lab_id, world.other_lab_id]),
        st.integers(-(2**70), 2**70),
    )


def numbers_as_text(world: World) -> st.SearchStrategy[str]:
    """Query values: ids, huge or odd numbers and any text, as text."""
    return st.one_of(
        ids(world).map(str),
        st.sampled_from(["", "0", "-1", "1e400", "NaN", "9" * 5000, " 3", "3\x00"]),
        st.text(ANY_CHARACTER, max_size=12),
    )


def any_text() -> st.SearchStrategy[str]:
    return st.text(ANY_CHARACTER, max_size=30)


# -- patients ---------------------------------------------------------------------


def new_patient(world: World) -> list[Strategies]:
    return [{**patient_fields(world), "lab_id": lab_ids(world).map(str)}]


def patient_changes(world: World) -> list[Strategies]:
    version = st.one_of(st.just("1"), st.just("1"), st.integers(-1, 3).map(str))
    return [{**patient_fields(world), "version": version}]


def patient_fields(world: World) -> Strategies:
    """Valid values mostly, some the model refuses (json_text.bodies adds
    values of every other type)."""
    names = st.sampled_from(["Asha", "  Ravi  Kumar ", "Ōno", "O'Brien", "x" * 101])
    days = st.dates(dt.date(1900, 1, 1), dt.date(2030, 1, 1))
    return {
        "first_name": names.map(encoded),
        "last_name": st.one_of(names, st.just("")).map(encoded),
        "sex": mostly(["F", "M", "O", "U"], ["X", "f"]),
        "date_of_birth": st.one_of(
            days.map(lambda day: encoded(day.isoformat())), st.just("null")
        ),
        "phone": mostly(["+91 98765 43210", "098765 43210", ""], ["98765"]),
        "email": mostly(["asha@example.com", ""], ["not an email"]),
        "reason": mostly(["typo", ""], []),
    }


def mostly(valid: list[str], invalid: list[str]) -> st.SearchStrategy[str]:
    """JSON text of one of `valid` three times in four, else of `invalid`."""
    choices = st.sampled_from(valid)
    if invalid:
        choices = st.one_of(choices, choices, choices, st.sampled_from(invalid))
    return choices.map(encoded)


def patient_paths(world: World) -> st.SearchStrategy[str]:
    own = st.just(world.patient_ids[0])
    pks = st.one_of(
        own, own, st.sampled_from(world.patient_ids), st.integers(0, 10**30)
    )
    return pks.map(lambda pk: reverse("patients:detail", kwargs={"pk": pk}))


def patient_query(world: World) -> Strategies:
    return {
        "limit": numbers_as_text(world),
        "after": numbers_as_text(world),
        "phone": st.one_of(st.just("+91 98765 43210"), any_text()),
    }


def patient_search(world: World) -> list[Strategies]:
    """By phone, by email, or both, with the list's paging."""
    terms = {
        "phone": mostly(["+91 98765 43210", "98765 43210"], ["", "98765"]),
        "email": mostly(["asha@example.com"], ["", "not an email"]),
    }
    paging = {
        "limit": st.integers(-1, 300).map(str),
        "after": ids(world).map(str),
    }
    return [
        {"phone": terms["phone"], **paging},
        {"email": terms["email"]},
        {**terms, "limit": paging["limit"]},
    ]


# -- signing in -------------------------------------------------------------------


def sign_in(world: World) -> list[Strategies]:
    return [sign_in_fields(world)]


def sign_in_fields(world: World) -> Strategies:
    return {
        "username": mostly([world.username], [world.username.upper(), "x"]),
        "password": mostly([world.password], ["wrong"]),
        "lab_id": st.one_of(lab_ids(world), ids(world)).map(str),
    }


# -- PDF ----------------------------------------------------------------------------


def pdf_shapes(world: World) -> list[Strategies]:
    """A report, a merge or a batch."""
    fields = pdf_fields(world)
    report = {name: fields[name] for name in ("report", "context", "watermark")}
    return [report, report, {"merge": fields["merge"]}, {"batch": fields["batch"]}]


def pdf_fields(world: World) -> Strategies:
    report = st.sampled_from(['"patients.summary"', '"patients.summary"', '"x.y"'])
    context = st.one_of(st.just(encoded(SUMMARY_CONTEXT)), values(6))
    request = st.tuples(report, context).map(
        lambda pair: f'{{"report": {pair[0]}, "context": {pair[1]}}}'
    )
    keys = st.sampled_from(
        [
            world.stored_key,
            f"labs/{world.child_lab_id}/reports/none.pdf",
            f"labs/{world.other_lab_id}/reports/none.pdf",
            "labs/../../etc/passwd",
        ]
    ).map(encoded) | any_text().map(encoded)
    return {
        "report": report,
        "context": context,
        "watermark": st.sampled_from(['"DRAFT"', '"CORRECTED"', "null", '"draft"']),
        "merge": st.lists(keys, max_size=3).map(lambda items: f"[{','.join(items)}]"),
        "batch": st.lists(request, max_size=2).map(
            lambda items: f"[{','.join(items)}]"
        ),
    }


# -- Pusher and signed files ---------------------------------------------------------


def pusher_form(world: World) -> list[Strategies]:
    return [pusher_fields(world)]


def pusher_fields(world: World) -> Strategies:
    return {
        "socket_id": st.one_of(st.just("123.456"), any_text()),
        "channel_name": st.one_of(
            lab_ids(world).map(lambda lab: f"private-lab-{lab}"), any_text()
        ),
    }


def file_paths(world: World) -> st.SearchStrategy[str]:
    keys = st.one_of(
        st.just(world.stored_key),
        st.text(ANY_CHARACTER, min_size=1, max_size=30),
        st.sampled_from(["../secret", "labs/1/../../x", "%00", "a" * 2000]),
    )
    return keys.map(lambda key: "/core/files/" + _quoted(key))


def file_query(world: World) -> Strategies:
    expires = str(int(time.time()) + 3600)
    return {
        "expires": st.one_of(st.just(expires), numbers_as_text(world)),
        "signature": st.one_of(
            st.just(world.signed_link.rpartition("signature=")[2]), any_text()
        ),
    }


def _quoted(key: str) -> str:
    return quote(key.encode("utf-8", "surrogatepass"), safe="/")


#: Every fuzzed URL name. GET ones are fuzzed through their query string,
#: the others through their body; see tests/fuzz/test_fuzz_endpoints.py.
FUZZED: dict[str, Endpoint] = {
    "core:health-live": Endpoint(("GET",), fixed("core:health-live"), examples=5),
    "home": Endpoint(("GET",), fixed("home"), examples=3),
    "core:health": Endpoint(("GET",), fixed("core:health"), examples=3),
    "core:health-ready": Endpoint(("GET",), fixed("core:health-ready"), examples=3),
    "core:health-metrics": Endpoint(("GET",), fixed("core:health-metrics"), examples=3),
    "core:auth-csrf": Endpoint(("GET",), fixed("core:auth-csrf"), examples=5),
    "core:auth-login": Endpoint(
        ("POST",), fixed("core:auth-login"), shapes=sign_in, examples=60
    ),
    "core:auth-logout": Endpoint(("POST",), fixed("core:auth-logout"), examples=10),
    "core:pdf": Endpoint(("POST",), fixed("core:pdf"), shapes=pdf_shapes, examples=50),
    "core:pusher-auth": Endpoint(
        ("POST",), fixed("core:pusher-auth"), shapes=pusher_form, form=True, examples=30
    ),
    "core:signed-file": Endpoint(("GET",), file_paths, query=file_query, examples=30),
    "patients:list": Endpoint(
        ("GET", "POST"),
        fixed("patients:list"),
        shapes=new_patient,
        query=patient_query,
        examples=60,
    ),
    "patients:search": Endpoint(
        ("POST",), fixed("patients:search"), shapes=patient_search, examples=40
    ),
    "patients:detail": Endpoint(
        ("GET", "PATCH"), patient_paths, shapes=patient_changes, examples=60
    ),
}
