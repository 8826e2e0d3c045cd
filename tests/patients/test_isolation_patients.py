"""Lab isolation of the patient endpoints, tested as an attacker would: a
user of one lab cannot read, list, search, change or learn of another lab's
patients (the same 404 as for a missing id, the same empty search as for a
number nobody has), a child lab cannot reach its parent's or a sibling's, a
doctor sees only their lab, and a revoked API key is refused at once."""

import pytest
from django.test import Client

from core.models.api_key import ApiKey
from core.tenancy import trusted_scope
from patients.models import Patient
from tests.isolation.helpers import send_json, signed_in

COVERS = {"patients:list", "patients:detail", "patients:search"}
SEARCH = "/api/patients/search/"
SHARED_PHONE = "+919876543210"
SHARED_EMAIL = "shared@example.com"

pytestmark = pytest.mark.django_db

#: The labs whose patients each reader must not see.
UNREACHABLE = {
    "north": ["central", "south", "other"],  # parent, parent's other child, other
    "north_clinic": ["north", "central", "south", "other"],
    "south": ["north", "north_clinic", "central", "other"],
}


@pytest.fixture
def patients(labs) -> dict[str, Patient]:
    made = {}
    for name, lab in labs.items():
        made[name] = Patient(lab=lab, first_name=f"Of {name}", sex="F",
                             phone=SHARED_PHONE, email=SHARED_EMAIL)  # fmt: skip
        made[name].save()
    return made


def missing_id() -> int:
    return (
        Patient.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ) + 1000


@pytest.mark.parametrize("reader", sorted(UNREACHABLE))
def test_another_labs_patient_looks_exactly_like_a_missing_one(reader, labs, patients):
    client = signed_in(labs[reader])
    missing = client.get(f"/api/patients/{missing_id()}/")

    for owner in UNREACHABLE[reader]:
        url = f"/api/patients/{patients[owner].pk}/"
        read = client.get(url)
        change = send_json(client, "PATCH", url, {"version": 1, "first_name": "X"})

        assert read.status_code == change.status_code == missing.status_code == 404
        assert set(read.json()) == set(missing.json()) == {"error", "request_id"}
        assert "Of " not in read.content.decode()
    unchanged = Patient.objects.exclude(first_name__startswith="Of ")
    assert not unchanged.exists()


def search(client: Client, body: dict, **headers: str) -> set[str]:
    response = send_json(client, "POST", SEARCH, body, **headers)
    assert response.status_code == 200, response.content
    return {p["first_name"] for p in response.json()["patients"]}


@pytest.mark.parametrize("reader", sorted(UNREACHABLE))
def test_the_list_and_the_searches_show_only_the_labs_in_scope(reader, labs, patients):
    client = signed_in(labs[reader])

    listed = {p["first_name"] for p in client.get("/api/patients/").json()["patients"]}
    by_phone = search(client, {"phone": SHARED_PHONE})
    by_email = search(client, {"email": SHARED_EMAIL})

    assert listed == by_phone == by_email
    assert not listed & {f"Of {owner}" for owner in UNREACHABLE[reader]}
    assert f"Of {reader}" in listed


@pytest.mark.parametrize("reader", sorted(UNREACHABLE))
def test_searching_for_another_labs_patient_looks_like_searching_for_nobody(
    reader, labs, patients
):
    client = signed_in(labs[reader])
    nobody = send_json(client, "POST", SEARCH, {"phone": "+919000000001"})

    for number, owner in enumerate(UNREACHABLE[reader], start=2):
        # Given a patient only `owner` has: its own lab finds it...
        phone, email = f"+91900000000{number}", f"only-{owner}@example.com"
        target = Patient.objects.get(pk=patients[owner].pk)
        target.set_values({"phone": phone, "email": email})
        target.save()
        assert Patient.objects.find_by_phone(
            trusted_scope(labs[owner].pk), phone
        ).exists()

        # ...the attacker's search answers exactly as for nobody.
        for body in (
            {"phone": phone},
            {"email": email},
            {"phone": phone, "email": email},
        ):
            found = send_json(client, "POST", SEARCH, body)
            assert found.status_code == nobody.status_code == 200
            assert found.json() == nobody.json() == {"patients": [], "next": None}


def test_a_parent_lab_reaches_its_childrens_patients(labs, patients):
    client = signed_in(labs["central"])

    listed = {p["first_name"] for p in client.get("/api/patients/").json()["patients"]}

    assert listed == {"Of central", "Of north", "Of north_clinic", "Of south"}
    assert search(client, {"phone": SHARED_PHONE, "email": SHARED_EMAIL}) == listed
    assert (
        client.get(f"/api/patients/{patients['north_clinic'].pk}/").status_code == 200
    )


def test_nobody_creates_a_patient_in_a_lab_outside_their_scope(labs, patients):
    client = signed_in(labs["north"])

    for target in ("central", "south", "other"):
        response = send_json(client, "POST", "/api/patients/", {
            "lab_id": labs[target].pk, "first_name": "Sneaky", "sex": "M",
        })  # fmt: skip
        assert response.status_code == 404
    inside = send_json(client, "POST", "/api/patients/", {
        "lab_id": labs["north_clinic"].pk, "first_name": "Child", "sex": "M",
    })  # fmt: skip
    assert inside.status_code == 201
    assert not Patient.objects.filter(first_name="Sneaky").exists()


def test_a_doctor_sees_only_their_own_lab(labs, patients):
    client = signed_in(labs["north"], kind="doctor")

    listed = {p["first_name"] for p in client.get("/api/patients/").json()["patients"]}
    child = client.get(f"/api/patients/{patients['north_clinic'].pk}/")

    assert listed == {"Of north"}
    assert search(client, {"phone": SHARED_PHONE}) == {"Of north"}
    assert child.status_code == 404


def test_a_revoked_api_key_is_refused_at_once(labs, patients):
    key, secret = ApiKey.create(labs["north"], "LIMS bridge")
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}

    before = client.get(f"/api/patients/{patients['north'].pk}/", headers=headers)
    key.revoke(reason="Leaked")
    after = client.get(f"/api/patients/{patients['north'].pk}/", headers=headers)

    assert before.status_code == 200
    assert after.status_code == 401


def test_an_api_key_reaches_only_its_labs(labs, patients):
    _, secret = ApiKey.create(labs["north"], "LIMS bridge")
    client = Client()
    headers = {"Authorization": f"Bearer {secret}"}

    south = client.get(f"/api/patients/{patients['south'].pk}/", headers=headers)
    found = search(client, {"email": SHARED_EMAIL}, **headers)  # no CSRF: a key
    create = client.post("/api/patients/", {"first_name": "K", "sex": "M"},
                         content_type="application/json", headers=headers)  # fmt: skip

    assert south.status_code == 404
    assert found == {"Of north", "Of north_clinic"}
    assert create.status_code == 201  # no CSRF for a key: no cookie to forge
    assert create.json()["lab_id"] == labs["north"].pk


def test_nobody_signed_in_gets_401(db, patients):
    assert Client().get("/api/patients/").status_code == 401
    anonymous = Client().post(SEARCH, {"phone": SHARED_PHONE},
                              content_type="application/json")  # fmt: skip
    assert anonymous.status_code == 401
    assert Client().get(f"/api/patients/{patients['north'].pk}/").status_code == 401
