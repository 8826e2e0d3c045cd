"""`manage.py load_demo_data`: labs, users, patients and reports to click
around with.

For development only: it creates a superuser `admin` with the password
`admin` and demo users with a known password. It refuses to run when DEBUG is
off unless given `--force`.

Idempotent: every row is looked up by its natural key (lab name, username,
parent and child lab, a patient's lab and name, a report's patient and title)
and created only when missing; rows already present are left exactly as they
are, so running it twice changes nothing. Everything happens in one
transaction, through each model's `save()` and, for the reports' status, the
app's actions (patients/actions.py), as any other caller changes them: the
released report's PDF is rendered by the release job once a Fusion worker
runs (`scripts/run.sh` starts one).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from admin.account.models import Lab, LabRelation, User
from patients.actions import release_report, verify_report
from patients.models import Patient, Report

#: Password of the demo superuser. Development only.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - a published demo password, DEBUG only
#: Password of every other demo user. Development only.
DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - a published demo password, DEBUG only

CENTRAL_LAB = "Central Reference Lab"
NORTH_LAB = "North Collection Centre"
SOUTH_LAB = "South Collection Centre"


@dataclass(frozen=True)
class LabSpec:
    """A demo lab; `parent` names the lab it is a child of."""

    name: str
    parent: str | None = None
    time_zone: str = "Asia/Kolkata"
    language: str = "en"
    country: str = "IN"


@dataclass(frozen=True)
class UserSpec:
    """A demo (non-superuser) user attached to a lab."""

    username: str
    lab: str
    kind: User.Kind
    first_name: str
    last_name: str


@dataclass(frozen=True)
class PatientSpec:
    """A demo patient; (lab, first_name, last_name) is its natural key."""

    lab: str
    first_name: str
    last_name: str
    sex: Patient.Sex
    date_of_birth: dt.date | None = None
    phone: str = ""
    email: str = ""


#: A (low, high) range of a result.
Range = tuple[float, float]


@dataclass(frozen=True)
class ReportSpec:
    """A demo report of a demo patient (lab, first and last name); `status`
    is where the actions take it: draft, verified or released."""

    lab: str
    first_name: str
    last_name: str
    title: str
    results: tuple[dict[str, Any], ...]
    status: Report.Status = Report.Status.DRAFT


LABS = (
    LabSpec(CENTRAL_LAB),
    LabSpec(NORTH_LAB, parent=CENTRAL_LAB),
    LabSpec(SOUTH_LAB, parent=CENTRAL_LAB),
)

USERS = (
    UserSpec("central.staff", CENTRAL_LAB, User.Kind.STAFF, "Asha", "Rao"),
    UserSpec("north.staff", NORTH_LAB, User.Kind.STAFF, "Vikram", "Singh"),
    UserSpec("south.staff", SOUTH_LAB, User.Kind.STAFF, "Lakshmi", "Iyer"),
    UserSpec("dr.mehta", CENTRAL_LAB, User.Kind.DOCTOR, "Rohan", "Mehta"),
)

PATIENTS = (
    PatientSpec(
        CENTRAL_LAB,
        "Priya",
        "Sharma",
        Patient.Sex.FEMALE,
        dt.date(1988, 4, 12),
        "98765 43210",
        "priya.sharma@example.com",
    ),
    PatientSpec(
        CENTRAL_LAB, "Arjun", "Nair", Patient.Sex.MALE, dt.date(1975, 11, 3), ""
    ),
    PatientSpec(
        NORTH_LAB,
        "Meera",
        "Kapoor",
        Patient.Sex.FEMALE,
        dt.date(2016, 2, 29),
        "91234 56789",
    ),
    PatientSpec(NORTH_LAB, "Rahul", "Verma", Patient.Sex.MALE, None, "99887 76655"),
    PatientSpec(
        SOUTH_LAB,
        "Kavya",
        "Reddy",
        Patient.Sex.OTHER,
        dt.date(1999, 8, 21),
        "87654 32109",
    ),
    PatientSpec(SOUTH_LAB, "Sanjay", "Pillai", Patient.Sex.UNKNOWN, None, ""),
)


def result(
    test: str, value: float, unit: str, normal: Range, critical: Range
) -> dict[str, Any]:
    """One result as a report holds it, from its normal and critical ranges."""
    return {
        "test": test, "value": value, "unit": unit, "low": normal[0],
        "high": normal[1], "critical_low": critical[0], "critical_high": critical[1],
    }  # fmt: skip


REPORTS = (
    ReportSpec(
        CENTRAL_LAB,
        "Priya",
        "Sharma",
        "Complete blood count",
        (
            result("Haemoglobin", 12.9, "g/dL", (12, 15.5), (7, 20)),
            result("Platelets", 245, "10^9/L", (150, 410), (20, 1000)),
        ),
        Report.Status.RELEASED,
    ),
    ReportSpec(
        NORTH_LAB,
        "Meera",
        "Kapoor",
        "Serum electrolytes",
        (
            result("Sodium", 139, "mmol/L", (135, 145), (120, 160)),
            result("Potassium", 4.1, "mmol/L", (3.5, 5.1), (2.5, 6.5)),
        ),
    ),
)


@dataclass
class Tally:
    """What the command created, and what it found already there."""

    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)

    def record(self, label: str, *, created: bool) -> None:
        """Note `label` as created or as already present."""
        (self.created if created else self.present).append(label)


class Command(BaseCommand):
    """Load the demo labs, users and patients (development only)."""

    help = (
        "Create demo data for development: three labs (a parent and two "
        "collection centres), a superuser 'admin' with password 'admin', "
        "staff users and a doctor with password 'demo-pass-123', a few "
        "patients and two reports (one released). DEVELOPMENT ONLY: these "
        "passwords are public. Refuses to run when DEBUG is off unless "
        "--force. Safe to run again: rows already present are left unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Add --force."""
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (creates users with public "
            "passwords; never do this on a real server).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Create whatever demo rows are missing, in one transaction."""
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: refusing to create demo users with public "
                "passwords. Use --force only if you really mean it."
            )
        tally = Tally()
        with transaction.atomic():
            labs = self._labs(tally)
            self._admin(tally)
            self._users(labs, tally)
            self._patients(labs, tally)
            self._reports(labs, tally)
        self._report(tally)

    def _labs(self, tally: Tally) -> dict[str, Lab]:
        labs: dict[str, Lab] = {}
        for spec in LABS:
            lab = Lab.objects.filter(name=spec.name).order_by("pk").first()
            created = lab is None
            if lab is None:
                lab = Lab(
                    name=spec.name,
                    time_zone=spec.time_zone,
                    language=spec.language,
                    country=spec.country,
                )
                lab.save()
            labs[spec.name] = lab
            tally.record(f"lab {spec.name!r}", created=created)
        for spec in LABS:
            if spec.parent is None:
                continue
            parent, child = labs[spec.parent], labs[spec.name]
            created = not LabRelation.objects.filter(
                parent_lab=parent, child_lab=child
            ).exists()
            if created:
                LabRelation(parent_lab=parent, child_lab=child).save()
            tally.record(f"link {parent.name!r} -> {child.name!r}", created=created)
        return labs

    def _admin(self, tally: Tally) -> None:
        created = not User.objects.filter(username=ADMIN_USERNAME).exists()
        if created:
            admin = User(
                username=ADMIN_USERNAME,
                email="admin@example.com",
                is_staff=True,
                is_superuser=True,
                kind=User.Kind.STAFF,
            )
            admin.set_password(ADMIN_PASSWORD)
            admin.save()
        tally.record(f"superuser {ADMIN_USERNAME!r}", created=created)

    def _users(self, labs: dict[str, Lab], tally: Tally) -> None:
        for spec in USERS:
            created = not User.objects.filter(username=spec.username).exists()
            if created:
                user = User(
                    username=spec.username,
                    first_name=spec.first_name,
                    last_name=spec.last_name,
                    kind=spec.kind,
                    lab=labs[spec.lab],
                    is_staff=False,
                )
                user.set_password(DEMO_PASSWORD)
                user.save()
            tally.record(
                f"{spec.kind.label.lower()} {spec.username!r}", created=created
            )

    def _patients(self, labs: dict[str, Lab], tally: Tally) -> None:
        for spec in PATIENTS:
            lab = labs[spec.lab]
            created = not Patient.objects.filter(
                lab=lab, first_name=spec.first_name, last_name=spec.last_name
            ).exists()
            if created:
                Patient(
                    lab=lab,
                    first_name=spec.first_name,
                    last_name=spec.last_name,
                    sex=spec.sex,
                    date_of_birth=spec.date_of_birth,
                    phone=spec.phone,
                    email=spec.email,
                ).save()
            tally.record(
                f"patient '{spec.first_name} {spec.last_name}' ({lab.name})",
                created=created,
            )

    def _reports(self, labs: dict[str, Lab], tally: Tally) -> None:
        for spec in REPORTS:
            patient = Patient.objects.get(
                lab=labs[spec.lab],
                first_name=spec.first_name,
                last_name=spec.last_name,
            )
            created = not Report.objects.filter(
                patient=patient, title=spec.title
            ).exists()
            if created:
                report = Report(
                    lab=patient.lab,
                    patient=patient,
                    title=spec.title,
                    results=list(spec.results),
                )
                report.save()
                if spec.status != Report.Status.DRAFT:
                    verify_report(report)
                if spec.status == Report.Status.RELEASED:
                    release_report(report)
            tally.record(
                f"{spec.status.label.lower()} report {spec.title!r} of "
                f"'{spec.first_name} {spec.last_name}'",
                created=created,
            )

    def _report(self, tally: Tally) -> None:
        for label in tally.created:
            self.stdout.write(f"  created  {label}")
        for label in tally.present:
            self.stdout.write(f"  present  {label}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {len(tally.created)} created, "
                f"{len(tally.present)} already present."
            )
        )
        self.stdout.write(
            self.style.WARNING(
                f"Development only: superuser {ADMIN_USERNAME!r} has password "
                f"{ADMIN_PASSWORD!r} and the other demo users {DEMO_PASSWORD!r} "
                "(as created; passwords changed since are left alone)."
            )
        )
