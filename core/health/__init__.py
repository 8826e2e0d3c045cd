"""Health checks: a runner that bounds every check in time (`runner.py`) and
this project's readiness checks (`checks.py`), served by core/view.py at
/core/view/live/ and /core/view/ready/.

Only the runner is re-exported here: `checks.py` imports models, and this
package may be imported before Django's apps are ready.
"""

from core.health.runner import (
    Check,
    CheckResult,
    HealthReport,
    Probe,
    Status,
    run_checks,
    scrub_detail,
)

__all__ = [
    "Check",
    "CheckResult",
    "HealthReport",
    "Probe",
    "Status",
    "run_checks",
    "scrub_detail",
]
