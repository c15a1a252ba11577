"""corpbank audit verify: walks the hash chain and reports the first broken link (R-I3)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.core.audit import verify_chain


class Command(BaseCommand):
    help = "Audit log tools: 'verify' checks the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.intact:
            self.stdout.write(f"audit chain intact: {report.checked} events")
            return
        raise CommandError(
            f"audit chain broken at event {report.first_broken_id} "
            f"({report.reason}); {report.checked} events before it are intact"
        )
