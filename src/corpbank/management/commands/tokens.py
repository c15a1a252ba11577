"""corpbank tokens import FILE [--key-hex HEX | --password-stdin]: the bank's token stock from a PSKC
file (RFC 6030), all or nothing. corpbank tokens rotate-key: re-seal every seed under the current key
(the tokens', and the operators' authenticator keys)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.backoffice import services as backoffice
from corpbank.core import audit
from corpbank.core.errors import DomainError
from corpbank.tokens import pskc_import, seeds
from corpbank.tokens import services as tokens


class Command(BaseCommand):
    help = "Token stock: import a PSKC file; rotate the key that seals seeds."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        importing = sub.add_parser("import", help="import a PSKC file into the stock")
        importing.add_argument("file")
        secret = importing.add_mutually_exclusive_group()
        secret.add_argument("--key-hex", help="the pre-shared key, in hexadecimal")
        secret.add_argument(
            "--password-stdin", action="store_true", help="read the file's password from stdin"
        )
        sub.add_parser("rotate-key", help="re-seal every seed under the first key of CORPBANK_SEED_KEYS")
        renew = sub.add_parser("renew-expiring", help="ship replacements for tokens that expire soon (R-E4)")
        renew.add_argument("--within-days", type=int, default=60)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = audit.Actor.system(f"corpbank tokens {options['action']}")
        if options["action"] == "rotate-key":
            self.stdout.write(f"re-sealed {seeds.rotate_key(actor=actor)} seeds")
            # The operators' authenticator keys are sealed under the same keys (backoffice/services).
            self.stdout.write(f"re-sealed {backoffice.rotate_seed_keys(actor=actor)} operators' seeds")
            return
        if options["action"] == "renew-expiring":
            report = tokens.renew_expiring(within_days=options["within_days"], actor=actor)
            for expiring, replacement in report.renewed:
                self.stdout.write(f"renewed {expiring} with {replacement}")
            if report.no_stock:
                raise CommandError(f"no token in stock to replace: {', '.join(report.no_stock)}")
            self.stdout.write(f"{len(report.renewed)} tokens renewed")
            return
        password = sys.stdin.readline().rstrip("\n") if options.get("password_stdin") else None
        try:
            key = pskc_import.key_from_hex(options.get("key_hex") or "")
            stocked = pskc_import.import_stock(
                options["file"], actor=actor, preshared_key=key, password=password, file_name=options["file"]
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"imported {len(stocked)} tokens: {', '.join(t.serial for t in stocked)}")
