"""The ``corpbank`` command: Django's management commands under the project's settings.

``corpbank migrate``, ``corpbank createoperator``, ``corpbank audit verify``, ``corpbank loaddemo``,
``corpbank serve``, …; and ``corpbank softtoken``, the reference phone app, which needs no Django."""

from __future__ import annotations

import os
import sys

from django.core.management import execute_from_command_line

# The phone app imports nothing of Django: the command starts without the project's settings.
from corpbank.tokens.softtoken_app import main as softtoken


def main(argv: list[str] | None = None) -> None:
    arguments = argv if argv is not None else sys.argv[1:]
    if arguments[:1] == ["softtoken"]:
        sys.exit(softtoken(arguments[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpbank.settings")
    execute_from_command_line(["corpbank", *arguments])


if __name__ == "__main__":
    main()
