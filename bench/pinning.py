"""CPU pinning: the servers a benchmark starts on some CPUs, its load
generator (wrk, the enqueuer, the benchmark process itself) on others, so
they do not take turns on one CPU and the load does not steal from what it
measures.

Children are pinned with `taskset -c` in front of their command line: the
affinity is set before the command runs, so every process the child forks
(gunicorn's workers) inherits it, and nothing runs in the parent between
fork and exec (unlike Popen's preexec_fn, unsafe with threads). The
benchmark process pins itself with os.sched_setaffinity.

Services the machine runs (PostgreSQL, Redis, RabbitMQ) are not the
benchmark's: they are left where the system puts them.

Example::

    pinning = plan_pinning(enabled=True)
    print(pinning.note)  # "pinning: servers on CPU 0, load on CPU 1 (2 CPUs)"
    subprocess.Popen([*pinning.prefix(SERVER), "gunicorn", ...])
"""

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

SERVER, LOAD = "server", "load"


def cpu_list(cpus: Iterable[int]) -> str:
    """taskset's list form of `cpus`. Example: `cpu_list({3, 0, 1}) == "0,1,3"`."""
    return ",".join(str(cpu) for cpu in sorted(cpus))


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the servers and the load generator get; both empty when
    nothing is pinned, and `note` says why.

    Example: `Pinning(frozenset({0}), frozenset({1}), "/usr/bin/taskset",
    "pinning: servers on CPU 0, load on CPU 1 (2 CPUs)")`.
    """

    server: frozenset[int]
    load: frozenset[int]
    taskset: str | None
    note: str

    @property
    def active(self) -> bool:
        return bool(self.server and self.load)

    def cpus(self, role: str) -> frozenset[int]:
        """The CPUs of `role` (SERVER or LOAD); empty when not pinned."""
        return self.server if role == SERVER else self.load

    def prefix(self, role: str) -> list[str]:
        """The command-line prefix that starts a child on `role`'s CPUs:
        `["/usr/bin/taskset", "-c", "0"]`, or `[]` when not pinned."""
        if not self.active or self.taskset is None:
            return []
        return [self.taskset, "-c", cpu_list(self.cpus(role))]

    def pin_self(self, role: str = LOAD) -> None:
        """Move this process (and the children it starts without a prefix)
        to `role`'s CPUs; nothing when not pinned."""
        if self.active:
            os.sched_setaffinity(0, self.cpus(role))

    def as_json(self) -> dict[str, object]:
        return {
            "server": sorted(self.server),
            "load": sorted(self.load),
            "note": self.note,
        }


def split_cpus(cpus: Iterable[int]) -> tuple[frozenset[int], frozenset[int]]:
    """(server CPUs, load CPUs), disjoint: the load generator gets the last
    quarter (at least one), the servers the rest; both empty with fewer than
    2 CPUs.

    Example: `split_cpus({0, 1}) == ({0}, {1})`; `split_cpus(range(8))`
    gives the servers 0-5 and the load 6-7.
    """
    ordered = sorted(set(cpus))
    if len(ordered) < 2:
        return frozenset(), frozenset()
    load = max(1, len(ordered) // 4)
    return frozenset(ordered[:-load]), frozenset(ordered[-load:])


def plan_pinning(
    enabled: bool = True,
    cpus: Iterable[int] | None = None,
    taskset: str | None = None,
) -> Pinning:
    """The pinning this machine allows: the CPUs this process may use
    (os.sched_getaffinity) split by split_cpus, children pinned through
    taskset. Unpinned, with a note saying why, when `enabled` is false, the
    system has no affinity calls, taskset is missing or fewer than 2 CPUs
    are available."""

    def unpinned(why: str) -> Pinning:
        return Pinning(frozenset(), frozenset(), None, f"pinning: none ({why})")

    if not enabled:
        return unpinned("--no-pin")
    if not hasattr(os, "sched_setaffinity"):
        return unpinned("this system has no CPU affinity calls")
    available = set(os.sched_getaffinity(0) if cpus is None else cpus)
    taskset = taskset or shutil.which("taskset")
    if taskset is None:
        return unpinned("taskset is not installed (util-linux)")
    server, load = split_cpus(available)
    if not server:
        return unpinned(f"{len(available)} CPU available: nothing to separate")
    return Pinning(
        server,
        load,
        taskset,
        f"pinning: servers on CPU {cpu_list(server)}, load on CPU "
        f"{cpu_list(load)} ({len(available)} CPUs; the machine's own services "
        "unpinned)",
    )
