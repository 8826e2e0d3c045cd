"""The sample app's state changes: each one atomic action.

    verify_report(report, *, actor=None, reason="")    draft -> verified
    release_report(report, *, actor=None, reason="")   verified -> released,
        with its ReportRelease and the `run_release` job (patients/release.py)
    correct_report(report, *, reason, actor=None)      released -> corrected,
        with the new draft edition, returned

Every action is decorated `@transaction.atomic`: all it writes (rows,
activity-log entries, webhook events, jobs) commits together or not at all,
and inside a caller's transaction it is a savepoint. So a crash or an error
half way (the ReportRelease insert, the job's enqueue, the new edition's
save) leaves the report as it was: never released without its pipeline,
never corrected without its new edition. When an action raises, the
instances it was given are put back as they were too
(`core.models.actions.unchanged_on_failure`), so the caller can fix the
cause and call it again. `actor` names who acts (by default whoever the
context names: the request's user, a job's or command's `acting_as`) and
`reason` is kept in the activity log. Effects that leave the process are
jobs enqueued inside the action (they exist only if it commits).

Why an actions module (Saleor's `actions`, Zulip's `zerver/actions/`), and
not `@transaction.atomic` methods on the model:

- A state change spans several models and modules (the report, its
  ReportRelease, the pipeline's job, the next edition): one function names
  the whole change and its transaction, above the models and the pipeline
  it composes, so imports run one way (actions -> release -> reports),
  where a model method would import the pipeline that imports the model.
  Callers (views, the admin, commands, tests) import the actions; Report
  has no methods that change its status.
- The rule is simple to state and to check: a function that writes more
  than once is an action here, and every public function here is
  `@transaction.atomic`; model methods write once (`save()` is atomic by
  itself). tests/test_atomic_writes.py fails for a function that does not
  follow it, in this app or any new one. A Fusion job is not an action:
  `run_release` commits its steps one by one on purpose and is retried
  until all are done.

Admin actions and the demo-data command call these.
"""

from django.db import transaction
from django.utils import timezone

from core.models.actions import acting, unchanged_on_failure
from core.utils.activity_log.context import Actor
from patients.models import Report, ReportRelease
from patients.release import start_release


@transaction.atomic
def verify_report(
    report: Report, *, actor: Actor | None = None, reason: str = ""
) -> None:
    """draft -> verified. One save, an action all the same: every status
    change is made one way."""
    with unchanged_on_failure(report), acting(actor):
        report.status = Report.Status.VERIFIED
        report.save(reason=reason)


@transaction.atomic
def release_report(
    report: Report, *, actor: Actor | None = None, reason: str = ""
) -> ReportRelease:
    """verified -> released, with the `ReportRelease` that tracks its
    pipeline and the `run_release` job that runs it after commit (PDF,
    storage, Pusher, webhook, Slack): all three or none."""
    with unchanged_on_failure(report), acting(actor):
        report.status = Report.Status.RELEASED
        report.released_at = timezone.now()
        report.save(reason=reason)
        return start_release(report)


@transaction.atomic
def correct_report(
    report: Report, *, reason: str, actor: Actor | None = None
) -> Report:
    """released -> corrected, and a new draft edition pointing to it with
    the same results to edit, returned: both or neither. `reason` is
    required (a released report changes only with one) and logged on both."""
    with unchanged_on_failure(report), acting(actor):
        report.status = Report.Status.CORRECTED
        report.save(reason=reason)
        edition = Report(
            lab_id=report.lab_id, patient_id=report.patient_id, title=report.title,
            edition=report.edition + 1, previous=report, results=report.results,
        )  # fmt: skip
        edition.save(reason=reason)
        return edition
