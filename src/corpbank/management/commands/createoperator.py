"""corpbank createoperator LOGIN_NAME --name "表示名": creates a bank operator (password asked twice,
or read from standard input with --password-stdin)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.backoffice import services as backoffice
from corpbank.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a bank operator for the back office."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("login_name")
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("password: ")
            if password != getpass.getpass("password (again): "):
                raise CommandError("the passwords differ")
        try:
            operator = backoffice.create_operator(
                login_name=options["login_name"], display_name=options["name"], password=password
            )
        except DomainError as error:
            raise CommandError(f"{error.message} {error.fields or ''}") from error
        self.stdout.write(f"operator {operator.login_name} created")
