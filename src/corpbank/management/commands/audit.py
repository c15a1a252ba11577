"""corpbank audit: check, seal and anchor the audit log's chain (R-I3).

- ``verify``: walk the chain and name the first broken link; also check every checkpoint written.
- ``seal``: seal the events ready now (each act's commit does; this takes what a crash left).
- ``checkpoint``: seal, check the chain since the last checkpoint, and append the signed head to the
  checkpoint file (run it every few minutes, and ship the file off the database's host).
- ``rebase``: after a restore onto another PostgreSQL server, whose transaction ids start below the
  chain's: check the whole chain, then let the sealer go on above the events there are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.core import audit


class Command(BaseCommand):
    help = "Audit log: 'verify' checks the chain, 'seal' seals what is ready, 'checkpoint' anchors the head."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal", "checkpoint", "rebase"])
        parser.add_argument(
            "--checkpoints",
            type=Path,
            default=None,
            help="the checkpoint file (default: CORPBANK_AUDIT_CHECKPOINTS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["checkpoints"]
        try:
            if options["action"] == "seal":
                self.stdout.write(f"sealed {audit.seal()} events")
            elif options["action"] == "checkpoint":
                mark = audit.checkpoint(path)
                self.stdout.write(f"checkpoint written: position {mark.position} at {mark.at}")
            elif options["action"] == "rebase":
                self.verify(path, before_rebase=True)
                floor = audit.rebase(actor=audit.Actor.system("corpbank audit rebase"))
                self.stdout.write(f"the sealer goes on above event {floor}")
            else:
                self.verify(path)
        except (audit.CheckpointsUnreadable, audit.ChainBroken, ValueError) as error:
            raise CommandError(str(error)) from error

    def verify(self, path: Path | None, *, before_rebase: bool = False) -> None:
        report = audit.verify_chain(audit.read_checkpoints(path))
        restarted = "restored onto another server" in report.reason
        if not report.intact and not (before_rebase and restarted):
            raise CommandError(
                f"audit chain broken at event {report.first_broken_id} (position {report.position}): "
                f"{report.reason}; {report.checked} seals before it hold"
            )
        self.stdout.write(
            f"audit chain intact: {report.checked} events sealed, {report.checkpoints} checkpoints reached, "
            f"{report.awaiting} awaiting their seal"
        )
