"""corpbank ca init --name NAME: the bank's certificate authority for client certificates (R-F2).
corpbank ca certificate: its certificate (PEM), for nginx's ssl_client_certificate.
corpbank ca crl [--out FILE]: the current CRL (PEM), for nginx's ssl_crl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.certificates import services as certificates
from corpbank.core import audit
from corpbank.core.errors import DomainError


class Command(BaseCommand):
    help = "The bank's certificate authority: init, certificate, crl."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser(
            "init", help="create the CA (once); its key is encrypted with CORPBANK_CA_PASSPHRASE"
        )
        init.add_argument("--name", default="corpbank client CA", help="the CA's common name")
        sub.add_parser("certificate", help="print the CA certificate (PEM)")
        crl = sub.add_parser("crl", help="print or write the current CRL (PEM)")
        crl.add_argument("--out", help="write it to this file (atomically) instead of printing it")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "init":
                found = certificates.init_ca(
                    common_name=options["name"], actor=audit.Actor.system("corpbank ca init")
                )
                subject = certificates.ca_certificate(found).subject.rfc4514_string()
                self.stdout.write(f"certificate authority created: {subject}")
            elif options["action"] == "certificate":
                self.stdout.write(certificates.authority().certificate_pem, ending="")
            else:
                pem = (
                    x509.load_der_x509_crl(certificates.current_crl_der())
                    .public_bytes(serialization.Encoding.PEM)
                    .decode()
                )
                if options.get("out"):
                    target = Path(options["out"])
                    temporary = target.with_suffix(target.suffix + ".tmp")
                    temporary.write_text(pem)
                    temporary.replace(target)
                else:
                    self.stdout.write(pem, ending="")
        except DomainError as error:
            raise CommandError(error.message) from error
