"""corpbank worker: executes the future-dated transfers (振込予約) at the start of their business day
(R-G2, R-G7), round after round, until stopped (SIGTERM or Ctrl-C end it between two transfers).

Each transfer is executed in a transaction of its own, taken under its row lock (payments/transfers.py
``execute_due``): two workers never execute one transfer twice, and a worker killed at any point, even
with ``kill -9``, leaves the transfer 予約中 with nothing written, for the next round to finish. This is a
plain locked loop over the orders rather than a task queue: the order's own row is the task, so there is
no second record (a queued task) to keep in step with it, nor a task lost or run twice between the two.
``make run`` starts one beside the server; a bank runs one or more under its process supervisor."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from corpbank.payments import transfers

logger = logging.getLogger("corpbank.worker")


class Command(BaseCommand):
    help = "Execute the future-dated transfers whose business day has come, every --interval seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=30.0, help="seconds between rounds (default 30)"
        )
        parser.add_argument("--once", action="store_true", help="one round, then exit (for cron and tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"corpbank worker: executing due transfers every {options['interval']:g} s")
        while not stop.is_set():
            try:
                finished = transfers.execute_due(stop=stop.is_set)
            except DatabaseError:
                logger.exception("worker round failed; the next round retries")
                finished = 0
            finally:
                close_old_connections()
            if finished:
                self.stdout.write(f"corpbank worker: {finished} transfer(s) executed or failed")
            if options["once"]:
                return
            stop.wait(options["interval"])
