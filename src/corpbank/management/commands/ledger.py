"""corpbank ledger verify: check every invariant of the ledger (R-G7) and name the first violation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.ledger import verify


class Command(BaseCommand):
    help = "Ledger: 'verify' checks every posting, leg and running balance, and names the first violation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify.verify()
        if not report.intact:
            raise CommandError(f"ledger broken: {report.violation}")
        if report.total != 0:
            raise CommandError(f"ledger broken: the balances of all accounts sum to {report.total}, not 0")
        self.stdout.write(
            f"ledger intact: {report.postings} postings, {report.legs} legs, {report.accounts} accounts; "
            "every posting balances, every running balance holds, no customer account below zero"
        )
