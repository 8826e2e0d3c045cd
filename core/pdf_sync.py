"""The synchronous renders of POST /core/pdf/: capped, isolated, time-limited.

`render_now(request, lab)` renders one report while the client waits:

1. In a render slot (core.ratelimit.leases): at most
   settings.PDF_RENDER_SLOTS_PER_LAB renders of one lab and
   settings.PDF_RENDER_SLOTS_TOTAL of all labs at once, shared by every web
   process through the cache's Redis (per process on the embedded default,
   and while Redis is down). With no slot free it raises RendersBusy, which
   the view answers with 429 and Retry-After. A slot is a lease of the time
   limit plus LEASE_MARGIN_SECONDS, so a web process that dies mid-render
   holds it no longer than that.
2. In a forked process (core.utils.forked) that runs
   settings.PDF_RENDER_NICE steps lower in CPU priority, under Linux's
   SCHED_IDLE policy when settings.PDF_RENDER_SCHED_IDLE is on (it then runs
   on CPU time no request wants, and gives the CPU up the moment one does),
   and is killed after settings.PDF_RENDER_TIME_LIMIT_SECONDS
   (RenderTimedOut: 503). The whole render happens there, the template
   included; the web process's thread only waits on a pipe, holding no CPU
   and no GIL. The price of SCHED_IDLE: on a server kept busy by other
   requests, renders wait, and past the time limit they are answered 503;
   turn it off to let renders compete, at niceness only.

Why 429, not the background queue, when the slots are full: the queue is
shared by every lab and takes jobs in order, so one lab's overflow sent
there would delay all other labs' batches, which is the harm the caps are
for. 429 pushes back on the lab that asks too much, costs one cheap answer,
and is what clients of this endpoint already handle (its rate limit). The
queue stays for what is known to be large before rendering (a body over
PDF_SYNC_MAX_REQUEST_BYTES, a batch).

Why 503, not 413, for a render stopped at the time limit: every limit on
the input (context, elements, pages) has been applied by then, and how long
a render takes depends on the server's load as much as on the report (it
runs on idle CPU), so "try again later" is the true answer; the message
also points to batches for reports that are slow by nature.

Why a process per render, forked, rather than a pool: the child is a copy
of the web process as it is now, with its settings, templates, registered
reports and the Lab already loaded, so nothing needs to be sent or set up,
and a render that must be stopped takes nothing else down with it. Forking
is cheap (a few ms); what would not be is WeasyPrint's first render in a
fresh process (~350 ms of font and library set-up), so each web process
renders one small document itself before its first fork (`warm_up`), and
its children start warm. That is the only WeasyPrint work a web process
does itself, and no fork happens while it runs (core.utils.forked explains
why that matters).
"""

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.conf import settings

from core.metrics.renders import SYNC, count_busy, counted_render
from core.models.translation import lab_texts
from core.ratelimit.leases import OWNER, LeaseRefused, acquire_lease
from core.utils.forked import ForkedTimeout, run_forked
from core.utils.pdf.registered import render_report
from core.utils.pdf.registry import ReportRequest
from core.utils.pdf.render import html_to_pdf

if TYPE_CHECKING:
    from admin.account.models import Lab

#: The lease group of synchronous renders.
RENDER_SLOTS = "pdf-render"
#: How much longer than the time limit a render slot is leased: fork, kill
#: and reaping, with room to spare.
LEASE_MARGIN_SECONDS = 10
#: Retry-After of a 429 when the slots are full: a typical report renders in
#: well under this.
BUSY_RETRY_AFTER_SECONDS = 2
#: Retry-After of a 503 for a render stopped at the time limit.
TIMED_OUT_RETRY_AFTER_SECONDS = 30
#: What a web process renders once, before its first fork.
WARM_UP_HTML = '<!DOCTYPE html><link rel="stylesheet" href="core/pdf/report.css"><p>.'

_warm_lock = threading.Lock()
_warm = False


class RendersBusy(Exception):
    """No render slot is free: the lab's (`scope` "lab") or the server's
    (`scope` "server"); the message names the setting."""

    def __init__(self, refused: LeaseRefused) -> None:
        if refused.scope == OWNER:
            self.scope = "lab"
            message = (
                f"Your lab already has {refused.limit} PDF renders running, the "
                "most at once (settings.PDF_RENDER_SLOTS_PER_LAB). Try again in "
                f"{BUSY_RETRY_AFTER_SECONDS} seconds, or send the reports as a "
                "batch."
            )
        else:
            self.scope = "server"
            message = (
                f"The server is rendering {refused.limit} PDFs, the most at once "
                "(settings.PDF_RENDER_SLOTS_TOTAL). Try again in "
                f"{BUSY_RETRY_AFTER_SECONDS} seconds, or send the reports as a "
                "batch."
            )
        super().__init__(message)
        self.retry_after_seconds = BUSY_RETRY_AFTER_SECONDS


class RenderTimedOut(Exception):
    """The render was stopped at settings.PDF_RENDER_TIME_LIMIT_SECONDS."""

    def __init__(self, time_limit_seconds: int) -> None:
        super().__init__(
            f"The report took longer than {time_limit_seconds} seconds to render "
            "(settings.PDF_RENDER_TIME_LIMIT_SECONDS) and was stopped. Try again "
            f"in {TIMED_OUT_RETRY_AFTER_SECONDS} seconds; a report this slow is "
            "best sent as a batch, which renders in the background."
        )
        self.retry_after_seconds = TIMED_OUT_RETRY_AFTER_SECONDS


def render_now(request: ReportRequest, lab: "Lab") -> bytes:
    """The PDF of `request` on `lab`'s letterhead, rendered in a slot and a
    forked process; see the module docstring.

    Raises RendersBusy, RenderTimedOut, and what render_report raises.
    Example: `render_now(ReportRequest.from_json(body), lab)` -> b"%PDF-1.7 ...".
    """
    time_limit: int = settings.PDF_RENDER_TIME_LIMIT_SECONDS
    try:
        lease = acquire_lease(
            RENDER_SLOTS,
            f"lab:{lab.pk}",
            per_owner=settings.PDF_RENDER_SLOTS_PER_LAB,
            total=settings.PDF_RENDER_SLOTS_TOTAL,
            ttl_seconds=time_limit + LEASE_MARGIN_SECONDS,
        )
    except LeaseRefused as refused:
        count_busy(SYNC)
        raise RendersBusy(refused) from None
    # Read here: the forked render may not use the database connection.
    texts = lab_texts(lab.pk, lab.language)
    with lease:
        warm_up()
        try:
            with counted_render(SYNC, timeout=ForkedTimeout):
                return run_forked(
                    _render,
                    request,
                    lab,
                    texts,
                    time_limit_seconds=time_limit,
                    nice=settings.PDF_RENDER_NICE,
                    idle=settings.PDF_RENDER_SCHED_IDLE,
                )
        except ForkedTimeout:
            raise RenderTimedOut(time_limit) from None


def _render(request: ReportRequest, lab: "Lab", texts: Mapping[str, str]) -> bytes:
    # What the forked process runs (a module-level function: its traceback
    # names it).
    return render_report(request, lab=lab, texts=texts)


def warm_up() -> None:
    """Render WARM_UP_HTML once in this process, before its first fork;
    other threads wait meanwhile (none may fork during it). render_now calls
    it; a server may call it at start (gunicorn's post_fork) to spare the
    first request the time."""
    global _warm
    with _warm_lock:
        if not _warm:
            html_to_pdf(WARM_UP_HTML)
            _warm = True
