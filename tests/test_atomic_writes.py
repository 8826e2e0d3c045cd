"""The rule "a state change that writes more than once is one transaction"
(tests/atomic_writes.py) holds in every domain app, and catches offenders
planted in small fake modules."""

import textwrap
from pathlib import Path

import pytest
from django.apps import apps

from tests.atomic_writes import Analysis, app_sources

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[1]
#: Installed apps that are not domain apps: core is the layer below them,
#: and test-only apps are fixtures.
NOT_DOMAIN_APPS = ("core",)


def domain_apps() -> dict[str, Path]:
    """Installed apps whose code lives in this repository, but core and the
    tests' own: `patients`, `admin.account`, and any app added later."""
    found = {}
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if not path.is_relative_to(REPO) or ".venv" in path.relative_to(REPO).parts:
            continue  # Django's and third-party apps
        if config.name in NOT_DOMAIN_APPS or config.name.startswith("tests."):
            continue
        found[config.name] = path
    return found


def offenders_in(**modules: str) -> list[str]:
    """The rule's verdict on fake modules given as `dotted_name=source`."""
    sources = {
        name.replace("__", "."): textwrap.dedent(source)
        for name, source in modules.items()
    }
    return Analysis(sources).offenders()


def named(found: list[str]) -> list[str]:
    """The offending functions' dotted names, sorted, without the advice."""
    return sorted(line.split(" (")[0] for line in found)


# -- the real apps -----------------------------------------------------------


def test_domain_apps_are_discovered_from_installed_apps():
    assert {"patients", "admin.account"} <= set(domain_apps())


@pytest.mark.parametrize("app", sorted(domain_apps()))
def test_no_domain_function_writes_twice_outside_one_transaction(app):
    sources = app_sources(domain_apps()[app], REPO)

    analysis = Analysis(sources)

    assert analysis.functions, f"no functions found in {app}"
    assert analysis.offenders() == []


def test_the_sample_apps_actions_are_all_seen_as_atomic():
    analysis = Analysis(app_sources(domain_apps()["patients"], REPO))

    actions = {
        f.name: f.atomic for f in analysis.functions if f.module == "patients.actions"
    }

    assert actions == {
        "verify_report": True,
        "release_report": True,
        "correct_report": True,
    }


# -- planted offenders -------------------------------------------------------

SEED_RELEASE = """
    from django.utils import timezone

    class Report(BaseModel):
        def release(self, reason=""):
            from shop.release import start_release
            self.status = "released"
            self.released_at = timezone.now()
            self.save(reason=reason)
            start_release(self)
"""
SEED_START_RELEASE = """
    def start_release(report):
        release = ReportRelease.objects.create(report=report)
        run_release.enqueue(release.pk)
        return release
"""


def test_the_seeds_release_is_refused_and_its_pipeline_entry_too():
    found = offenders_in(shop__reports=SEED_RELEASE, shop__release=SEED_START_RELEASE)

    assert named(found) == [
        "shop.release.start_release",
        "shop.reports.Report.release",
    ]
    assert all("make it an action in shop/actions.py" in line for line in found)


def test_a_method_calling_an_atomic_function_after_its_save_is_refused():
    # start_release is atomic on its own, but the save before it commits apart.
    atomic_start = "from django.db import transaction\n@transaction.atomic" + (
        textwrap.dedent(SEED_START_RELEASE)
    )

    found = offenders_in(shop__reports=SEED_RELEASE, shop__release=atomic_start)

    assert named(found) == ["shop.reports.Report.release"]


def test_the_seeds_correct_saving_twice_is_refused():
    found = offenders_in(
        shop__reports="""
        class Report(BaseModel):
            def correct(self, reason):
                self.status = "corrected"
                self.save(reason=reason)
                edition = Report(previous=self)
                edition.save(reason=reason)
                return edition
        """
    )

    assert len(found) == 1 and "Report.correct" in found[0]


@pytest.mark.parametrize(
    "source",
    [
        """
        @transaction.atomic
        def correct(report):
            report.save()
            Report(previous=report).save()
        """,
        """
        @transaction.atomic(using="default")
        def correct(report):
            report.save()
            Report(previous=report).save()
        """,
        """
        def correct(report):
            with acting(None), transaction.atomic():
                report.save()
                Report(previous=report).save()
        """,
        """
        def release_all(reports):
            with atomic():
                for report in reports:
                    report.save()
        """,
        """
        def save_one_or_the_other(report, other, first):
            if first:
                report.save()
            else:
                other.save()
        """,
    ],
    ids=["decorated", "decorated-called", "with-block", "loop-inside", "if-else"],
)
def test_writes_in_one_transaction_or_in_exclusive_branches_pass(source):
    assert offenders_in(shop__services=source) == []


@pytest.mark.parametrize(
    "source",
    [
        """
        def correct(report):
            with transaction.atomic():
                report.save()
            with transaction.atomic():
                Report(previous=report).save()
        """,
        """
        def release_all(reports):
            for report in reports:
                report.save()
        """,
        """
        def release_all(reports):
            return [report.save() for report in reports]
        """,
        """
        def release_all(reports):
            for report in reports:
                with transaction.atomic():
                    report.save()
        """,
        """
        def retire(report):
            report.save()
            report.notify_on_slack("#lab", "retired")
        """,
    ],
    ids=["two-blocks", "loop", "comprehension", "block-per-item", "save-then-slack"],
)
def test_writes_in_several_transactions_are_refused(source):
    assert len(offenders_in(shop__services=source)) == 1


def test_writes_reached_through_other_functions_of_the_app_count():
    found = offenders_in(
        shop__models="""
        class Order(BaseModel):
            def close(self):
                self.status = "closed"
                self.save()
                self.bill()

            def bill(self):
                Invoice(order=self).save()
        """,
        shop__views="""
        def close_and_bill(order):
            order.bill()
            order.bill()
        """,
    )

    assert named(found) == [
        "shop.models.Order.close",
        "shop.views.close_and_bill",
    ]


def test_calls_reach_the_apps_functions_by_their_shape():
    found = offenders_in(
        shop__views="""
        class OrderView:
            def get(self, request):
                Visit(path=request.path).save()
        """,
        shop__billing="""
        def bill(order):
            Invoice(order=order).save()
            order.save()
        """,
        shop__orders="""
        from shop import billing

        def close(order_id):
            order = Order.objects.get(pk=order_id)  # QuerySet.get, not the view's
            order.status = "closed"
            order.save()

        def close_and_bill(order):
            billing.bill(order)
        """,
    )

    assert named(found) == [
        "shop.billing.bill",
        "shop.orders.close_and_bill",
    ]


def test_a_private_helper_is_fine_only_when_every_call_is_in_a_transaction():
    helper = """
        class Command:
            def handle(self):
                with transaction.atomic():
                    self._labs()
                    self._users()
            {extra}
            def _labs(self):
                for name in ("a", "b"):
                    Lab(name=name).save()

            def _users(self):
                self._labs()
    """

    called_outside_too = "def again(self):\n                self._labs()\n"

    assert offenders_in(shop__command=helper.format(extra="")) == []
    found = offenders_in(shop__command=helper.format(extra=called_outside_too))
    assert named(found) == [
        "shop.command.Command._labs",
        "shop.command.Command.again",
    ]


def test_every_public_function_of_an_actions_module_must_be_atomic():
    found = offenders_in(
        shop__actions="""
        from django.db import transaction

        @transaction.atomic
        def close_order(order):
            order.save()

        def reopen_order(order):
            order.save()

        def _helper(order):
            return order.pk
        """
    )

    assert len(found) == 1
    assert "shop.actions.reopen_order" in found[0]
    assert "must be decorated @transaction.atomic" in found[0]


def test_a_job_may_commit_its_steps_one_by_one():
    assert (
        offenders_in(
            shop__jobs="""
            @job(max_attempts=30)
            def run_release(release_id):
                for step in STEPS:
                    with transaction.atomic():
                        step()
                        mark(step)
                mark("completed_at")

            def mark(field):
                Release(field=field).save()
            """
        )
        == []
    )
