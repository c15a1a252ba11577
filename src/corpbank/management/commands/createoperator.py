"""corpbank createoperator LOGIN_NAME --name "表示名" [--role clerk|approver|admin]: creates a bank
operator (password asked twice, or read from standard input with --password-stdin).

The bank's first administrators are made here (``--role admin``; at least two, since every operator
procedure in the back office (職員管理) is entered by one administrator and approved by another, and
three, so that one administrator's own lockout or lost phone can be handled by the two others). The
password typed here is the operator's own (no initial-password change). The operator registers an
authenticator app at the first login, from a QR code the login shows once; with --print-second-factor
the app is registered now, in the same transaction as the operator (both or neither), and its key and
QR code are printed on this terminal instead (for an administrator creating their own account on the
server). The login name is stored lower-cased."""

from __future__ import annotations

import getpass
import io
import secrets
import sys
from typing import Any

import segno
from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.operators import SEED_BYTES
from corpbank.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a bank operator for the back office (the first administrator: --role admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("login_name")
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument(
            "--role",
            choices=list(Operator.Role.values),
            default=Operator.Role.CLERK,
            help="clerk (受付担当, default), approver (承認者) or admin (管理者)",
        )
        parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        parser.add_argument(
            "--print-second-factor",
            action="store_true",
            help="register the authenticator app now and print its key and QR code here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("password: ")
            if password != getpass.getpass("password (again): "):
                raise CommandError("the passwords differ")
        seed = secrets.token_bytes(SEED_BYTES) if options["print_second_factor"] else None
        try:
            operator = backoffice.create_operator(
                login_name=options["login_name"],
                display_name=options["name"],
                password=password,
                role=options["role"],
                second_factor_seed=seed,
            )
        except DomainError as error:
            raise CommandError(f"{error.message} {error.fields or ''}") from error
        self.stdout.write(f"operator {operator.login_name} ({operator.role}) created")
        if seed is None:
            self.stdout.write("the authenticator app is registered at the first login (QR code shown once)")
            return
        enrolment = backoffice.provisioning(operator, seed)
        qr = io.StringIO()
        segno.make(enrolment.otpauth_uri(), error="m").terminal(out=qr, compact=True)
        self.stdout.write(qr.getvalue())
        self.stdout.write(f"key (base32): {enrolment.secret_base32}  TOTP, SHA1, 6 digits, 30 s")
        self.stdout.write(enrolment.otpauth_uri())
