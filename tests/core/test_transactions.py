"""run_after_commit and BaseModel.on_commit: effects only after a real commit."""

import logging

import pytest
from django.db import transaction

from core.utils.transactions import run_after_commit
from tests.lifecycle.models import Instrument

pytestmark = pytest.mark.django_db(transaction=True)


def test_runs_after_the_outermost_transaction_commits():
    calls: list[str] = []

    with transaction.atomic():
        run_after_commit(calls.append, "sent")
        with transaction.atomic():
            run_after_commit(calls.append, "nested")
        assert calls == []

    assert calls == ["sent", "nested"]


def test_never_runs_when_the_transaction_rolls_back():
    calls: list[str] = []

    with pytest.raises(RuntimeError), transaction.atomic():
        run_after_commit(calls.append, "sent")
        raise RuntimeError("boom")

    assert calls == []


def test_never_runs_for_a_rolled_back_savepoint_but_does_for_the_rest():
    calls: list[str] = []

    with transaction.atomic():
        run_after_commit(calls.append, "outer")
        try:
            with transaction.atomic():
                run_after_commit(calls.append, "inner")
                raise RuntimeError("inner fails")
        except RuntimeError:
            pass

    assert calls == ["outer"]


def test_outside_a_transaction_it_runs_at_once():
    calls: list[str] = []

    run_after_commit(calls.append, "now")

    assert calls == ["now"]


def test_an_error_in_the_callback_is_logged_not_raised(caplog):
    def broken() -> None:
        raise RuntimeError("slack is down")

    with caplog.at_level(logging.ERROR), transaction.atomic():
        run_after_commit(broken)

    assert "slack is down" in caplog.text


def test_model_on_commit_fires_only_when_the_save_commits():
    sent: list[int] = []

    class Notifying(Instrument):
        class Meta:
            proxy = True
            app_label = "lifecycle_tests"

        def after_save(self, *args, **kwargs):
            self.on_commit(sent.append, self.version)
            if self.fail_in == "after_save":
                raise RuntimeError("rollback")

    instrument = Notifying(name="A", serial="S")
    instrument.save()
    instrument.fail_in = "after_save"
    with pytest.raises(RuntimeError):
        instrument.save()

    assert sent == [1]
