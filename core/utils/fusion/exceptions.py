"""What Fusion raises and records: time limits, lost workers, bad arguments."""

from django.core.exceptions import ImproperlyConfigured


class JobTimeLimitExceeded(BaseException):
    """Raised inside a job that ran past its `time_limit_seconds`.

    A BaseException, like KeyboardInterrupt, so that a job's own
    `except Exception:` does not swallow it; `finally:` blocks still run.
    """


class WorkerLost(Exception):
    """Recorded (never raised in a job) for an attempt whose worker stopped
    mid-run: killed, crashed, or replaced after the hard time limit."""


class JobArgumentsError(TypeError):
    """A job was enqueued with arguments that are not plain JSON values."""


class FusionConfigurationError(ImproperlyConfigured):
    """settings.TASKS or the Fusion options are inconsistent."""


class DeadLetterError(Exception):
    """A dead letter cannot be re-run (unknown id, already re-run, or its
    job's code no longer exists); the message says which and what to do."""
