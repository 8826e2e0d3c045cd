"""`manage.py load_demo_data`: labs, users, patients and reports to click
around with: a lab network writing English, an Arabic lab and a Hindi lab,
with reports in every state (draft, verified, released, corrected), a
webhook subscription whose deliveries show in the report timeline, and a
dead letter to retry from the admin or `manage.py fusion_dead_letters`.

For development only: it creates a superuser `admin` with the password
`admin` and demo users with a known password. It refuses to run when DEBUG is
off unless given `--force`.

Idempotent: every row is looked up by its natural key (lab name, username,
parent and child lab, a patient's lab and name, a report's patient and title)
and created only when missing; rows already present are left exactly as they
are, so running it twice changes nothing. Everything happens in one
transaction, through each model's `save()` and, for the reports' status, the
app's actions (patients/actions.py), as any other caller changes them: the
released reports' PDFs are rendered and stored by the release jobs once a
Fusion worker runs (`scripts/run.sh` starts one), and their webhook
deliveries are attempted then (to a receiver the demo cannot reach: they
show as retrying, the way a receiver that is down does).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from admin.account.models import Lab, LabRelation, User
from core.fusion.dead_letters import bury
from core.models import FusionDeadLetter, WebhookEndpoint
from core.models.webhook import url_problem
from core.utils.slack.jobs import post_slack_message
from patients.actions import correct_report, release_report, verify_report
from patients.models import Patient, Report

#: Password of the demo superuser. Development only.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - a published demo password, DEBUG only
#: Password of every other demo user. Development only.
DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - a published demo password, DEBUG only

CENTRAL_LAB = "Central Reference Lab"
NORTH_LAB = "North Collection Centre"
SOUTH_LAB = "South Collection Centre"
ARABIC_LAB = "مختبر دبي المركزي"
HINDI_LAB = "जयपुर पैथोलॉजी प्रयोगशाला"


@dataclass(frozen=True)
class LabSpec:
    """A demo lab; `parent` names the lab it is a child of."""

    name: str
    parent: str | None = None
    time_zone: str = "Asia/Kolkata"
    language: str = "en"
    country: str = "IN"
    digits: str = "latin"


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
    is where the actions take it: draft, verified, released or corrected
    (released, then corrected with `reason`: a new draft edition follows)."""

    lab: str
    first_name: str
    last_name: str
    title: str
    results: tuple[dict[str, Any], ...]
    status: Report.Status = Report.Status.DRAFT
    reason: str = ""


LABS = (
    LabSpec(CENTRAL_LAB),
    LabSpec(NORTH_LAB, parent=CENTRAL_LAB),
    LabSpec(SOUTH_LAB, parent=CENTRAL_LAB),
    LabSpec(ARABIC_LAB, time_zone="Asia/Dubai", language="ar", country="AE"),
    LabSpec(HINDI_LAB, language="hi", digits="native"),
)

USERS = (
    UserSpec("central.staff", CENTRAL_LAB, User.Kind.STAFF, "Asha", "Rao"),
    UserSpec("north.staff", NORTH_LAB, User.Kind.STAFF, "Vikram", "Singh"),
    UserSpec("south.staff", SOUTH_LAB, User.Kind.STAFF, "Lakshmi", "Iyer"),
    UserSpec("dr.mehta", CENTRAL_LAB, User.Kind.DOCTOR, "Rohan", "Mehta"),
    UserSpec("dubai.staff", ARABIC_LAB, User.Kind.STAFF, "Layla", "Haddad"),
    UserSpec("jaipur.staff", HINDI_LAB, User.Kind.STAFF, "Neha", "Joshi"),
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
    PatientSpec(ARABIC_LAB, "فاطمة", "حسن", Patient.Sex.FEMALE, dt.date(1990, 6, 2)),
    PatientSpec(ARABIC_LAB, "أحمد", "منصور", Patient.Sex.MALE, dt.date(1968, 1, 15)),
    PatientSpec(HINDI_LAB, "सुनीता", "शर्मा", Patient.Sex.FEMALE, dt.date(1982, 9, 30)),
    PatientSpec(HINDI_LAB, "अमित", "कुमार", Patient.Sex.MALE, dt.date(2001, 3, 8)),
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
    ReportSpec(
        CENTRAL_LAB,
        "Arjun",
        "Nair",
        "Lipid profile",
        (
            result("Total cholesterol", 5.9, "mmol/L", (0, 5.2), (0, 10)),
            result("HDL cholesterol", 1.1, "mmol/L", (1, 3), (0.3, 5)),
        ),
        Report.Status.CORRECTED,
        reason="HDL was entered in mg/dL; corrected to mmol/L.",
    ),
    ReportSpec(
        SOUTH_LAB,
        "Kavya",
        "Reddy",
        "Thyroid function",
        (result("TSH", 2.4, "mIU/L", (0.4, 4), (0.01, 50)),),
        Report.Status.VERIFIED,
    ),
    ReportSpec(
        ARABIC_LAB,
        "فاطمة",
        "حسن",
        "تعداد الدم الكامل",
        (
            result("الهيموغلوبين", 13.2, "g/dL", (12, 15.5), (7, 20)),
            result("الصفائح الدموية", 245, "10^3/µL", (150, 410), (20, 1000)),
        ),
        Report.Status.RELEASED,
    ),
    ReportSpec(
        ARABIC_LAB,
        "أحمد",
        "منصور",
        "سكر الدم الصائم",
        (result("الغلوكوز", 5.4, "mmol/L", (3.9, 5.6), (2.5, 25)),),
        Report.Status.VERIFIED,
    ),
    ReportSpec(
        HINDI_LAB,
        "सुनीता",
        "शर्मा",
        "संपूर्ण रक्त गणना",
        (
            result("हीमोग्लोबिन", 11.8, "g/dL", (12, 15.5), (7, 20)),
            result("प्लेटलेट्स", 310, "10^3/µL", (150, 410), (20, 1000)),
        ),
        Report.Status.RELEASED,
    ),
    ReportSpec(
        HINDI_LAB,
        "अमित",
        "कुमार",
        "रक्त शर्करा",
        (result("शर्करा", 6.1, "mmol/L", (3.9, 5.6), (2.5, 25)),),
        Report.Status.CORRECTED,
        reason="नमूना दोबारा जाँचा गया।",
    ),
)

#: The demo lab's webhook subscription: a receiver on this machine that is
#: not running (port 9, discard), so deliveries show as retrying in the
#: report timeline and in the admin, the way a receiver that is down shows.
#: Loopback receivers are allowed with DEBUG (WEBHOOK_ALLOW_PRIVATE_ADDRESSES);
#: where they are not, the demo goes without the subscription.
WEBHOOK_LAB = CENTRAL_LAB
WEBHOOK_URL = "http://127.0.0.1:9/lis-hooks"
WEBHOOK_EVENTS = ("report.released",)
#: The demo's dead letter: a Slack message Slack refused for good, kept for
#: an operator to retry (the demo's Slack is the log-only client, so a retry
#: succeeds).
DEAD_LETTER_JOB_ID = "demo-dead-letter"
DEAD_LETTER_ARGS = {
    "args": ["#lab-alerts", "Critical potassium 6.9 mmol/L (demo)"],
    "kwargs": {},
}


@dataclass
class Tally:
    """What the command created, and what it found already there."""

    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def record(self, label: str, *, created: bool) -> None:
        """Note `label` as created or as already present."""
        (self.created if created else self.present).append(label)


class Command(BaseCommand):
    """Load the demo labs, users and patients (development only)."""

    help = (
        "Create demo data for development: a lab network (a parent and two "
        "collection centres), an Arabic and a Hindi lab, a superuser 'admin' "
        "with password 'admin', staff users and a doctor with password "
        "'demo-pass-123', patients, reports in every state, a webhook "
        "subscription and a dead letter. DEVELOPMENT ONLY: these "
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
            self._webhook(labs, tally)
            self._reports(labs, tally)
            self._dead_letter(tally)
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
                    digits=spec.digits,
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
                self._advance(report, spec)
            tally.record(
                f"{spec.status.label.lower()} report {spec.title!r} of "
                f"'{spec.first_name} {spec.last_name}'",
                created=created,
            )

    def _advance(self, report: Report, spec: ReportSpec) -> None:
        """Take a new draft `report` to `spec.status` through the actions."""
        if spec.status == Report.Status.DRAFT:
            return
        verify_report(report)
        if spec.status == Report.Status.VERIFIED:
            return
        release_report(report)
        if spec.status == Report.Status.CORRECTED:
            correct_report(report, reason=spec.reason)

    def _webhook(self, labs: dict[str, Lab], tally: Tally) -> None:
        lab = labs[WEBHOOK_LAB]
        problem = url_problem(WEBHOOK_URL)
        if problem:
            tally.skipped.append(f"webhook subscription of {lab.name!r}: {problem}")
            return
        created = not WebhookEndpoint.objects.filter(lab=lab, url=WEBHOOK_URL).exists()
        if created:
            WebhookEndpoint.create(
                lab, WEBHOOK_URL, list(WEBHOOK_EVENTS),
                description="Demo: the hospital system (not reachable here)",
            )  # fmt: skip
        tally.record(f"webhook subscription of {lab.name!r}", created=created)

    def _dead_letter(self, tally: Tally) -> None:
        created = not FusionDeadLetter.objects.filter(
            job_id=DEAD_LETTER_JOB_ID
        ).exists()
        if created:
            bury(
                job_id=DEAD_LETTER_JOB_ID,
                task_path=post_slack_message.module_path,
                backend_name="default",
                queue_name="default",
                args_kwargs=DEAD_LETTER_ARGS,
                attempts=8,
                error=RuntimeError("Slack answered channel_not_found (demo)"),
                enqueued_at=None,
            )
        tally.record("dead letter (a Slack message, to retry)", created=created)

    def _report(self, tally: Tally) -> None:

        for label in tally.created:
            self.stdout.write(f"  created  {label}")
        for label in tally.present:
            self.stdout.write(f"  present  {label}")
        for label in tally.skipped:
            self.stdout.write(f"  skipped  {label}")
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
