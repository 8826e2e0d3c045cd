"""`manage.py verify_activity_logs [--lab ID]`: check each lab's hash chain.

Seals anything pending (each lab on its own: one that cannot be sealed is
reported, the others seal), then, for every chain that must exist
(core/activity_log/completeness.py: the registry of chains, the entries,
the labs holding logged records, the signed checkpoints in storage):

1. the chain is there (`missing`);
2. its links hold: none edited, deleted or reordered (chain.py);
3. its end is where it must be: the head is its last seal, and it is not
   before its latest signed checkpoint (`truncated`, `head`);
4. it agrees with every signed checkpoint in storage (checkpoints.py),
   which catches an entry rewritten with every later hash recomputed.

Each problem is one line on stderr, `FAIL <kind> chain=<c> sequence=<s>:
<what>`, as the standalone export verifiers write them (docs/audit-trail.md);
the command then exits 1, so a scheduler or an inspector's script can act.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.chain import seal_each, verify_lab
from core.activity_log.checkpoint_keys import verify_keys
from core.activity_log.checkpoints import verify_checkpoints
from core.activity_log.completeness import expected_chains, missing_chain, verify_end
from core.models.logged_labs import labs_with_logged_records


class Command(BaseCommand):
    help = "Verify the activity log's hash chains and checkpoints; exit 1 at a break."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lab", type=int, help="Only this lab's chain (0: records without a lab)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keys = verify_keys()
        if not keys:
            self.stderr.write(
                "checkpoints not checked: no ACTIVITY_LOG_VERIFY_KEY or signing key"
            )
        unsealed = {f.lab: f for f in seal_each().failed}
        expected = expected_chains(labs_with_logged_records(), storage=bool(keys))
        labs = [options["lab"]] if options["lab"] is not None else list(expected)
        broken = 0
        for lab in labs:
            if lab not in expected:
                self.stdout.write(f"lab {lab}: no chain, and nothing says one exists")
                continue
            problem = self._problem(lab, expected[lab], keys)
            if lab in unsealed:
                failure = unsealed[lab]
                self._fail("seal", lab, failure.sequence, failure.problem)
            if problem is not None:
                self._fail(*problem)
            if problem is None and lab not in unsealed:
                self.stdout.write(f"lab {lab}: chain intact")
            broken += problem is not None or lab in unsealed
        if broken:
            raise CommandError(
                f"{broken} of {len(labs)} chains are broken.", returncode=1
            )

    def _problem(
        self, lab: int, reasons: list[str], keys: dict[str, Any]
    ) -> tuple[str, int, int, str] | None:
        """The first problem of lab `lab`'s chain: (kind, lab, sequence, what)."""
        gone = missing_chain(lab, reasons)
        if gone is not None:
            return gone.kind, lab, gone.sequence, gone.problem
        broken = verify_lab(lab)
        if broken is not None:
            return (
                broken.kind, lab, broken.sequence,
                f"chain broken at #{broken.sequence} (entry {broken.entry_id}): "
                f"{broken.problem}",
            )  # fmt: skip
        cut = verify_end(lab, keys or None)
        if cut is not None:
            return cut.kind, lab, cut.sequence, cut.problem
        failed = verify_checkpoints(lab) if keys else None
        if failed is not None:
            return (
                "checkpoint", lab, failed.sequence,
                f"checkpoint #{failed.sequence} signed {failed.signed_at} fails: "
                f"{failed.problem}",
            )  # fmt: skip
        return None

    def _fail(self, kind: str, lab: int, sequence: int, what: str) -> None:
        self.stderr.write(f"FAIL {kind} chain={lab} sequence={sequence}: {what}")
