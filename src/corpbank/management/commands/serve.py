"""corpbank serve: the production server (gunicorn).

    corpbank serve --bind 0.0.0.0:8000                       # plain HTTP, behind nginx (docs/operations.md)
    corpbank serve --tls --bind 0.0.0.0:8443 --cert C --key K  # TLS here, asking for client certificates

With ``--tls`` gunicorn terminates TLS itself and asks every client for a certificate issued by the
bank's CA (optional at the handshake, so that a PC without one still reaches a page that says why;
the application then refuses it, R-F1); the handshake leaves the certificate's dates to the application
(corpbank.gunicorn_tls), so an expired one is refused with a message that says so. Without
--cert/--key it makes a self-signed server certificate for the bind address under CORPBANK_VAR_DIR:
for trying it out only."""

from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from corpbank.certificates import services as certificates
from corpbank.core.errors import DomainError


def self_signed(host: str, directory: Path) -> tuple[Path, Path]:
    """A throw-away server certificate for ``host`` (an address or a name), kept under ``directory``."""
    cert_path, key_path = directory / "server-cert.pem", directory / "server-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alternative = x509.DNSName(host)
    certificate = (
        certificates.self_signed(name, key, days=365)
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .sign(key, hashes.SHA256())
    )
    old_mask = os.umask(0o077)
    try:
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    finally:
        os.umask(old_mask)
    return cert_path, key_path


class Command(BaseCommand):
    help = "Serve corpbank with gunicorn; --tls terminates TLS and asks for client certificates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--tls", action="store_true", help="terminate TLS, ask for client certificates")
        parser.add_argument("--cert", help="the server certificate (PEM, with its chain)")
        parser.add_argument("--key", help="the server certificate's private key (PEM)")

    def handle(self, *args: Any, **options: Any) -> None:
        beside = Path(sys.executable).parent / "gunicorn"
        gunicorn = str(beside) if beside.exists() else (shutil.which("gunicorn") or "gunicorn")
        command = [
            gunicorn,
            "corpbank.wsgi",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--worker-class",
            "gthread",
            "--access-logfile",
            "-",
        ]
        if options["tls"]:
            try:
                ca_pem = certificates.authority().certificate_pem
            except DomainError as error:
                raise CommandError(error.message) from error
            var_dir = Path(settings.VAR_DIR)
            client_ca = var_dir / "client-ca.pem"
            client_ca.write_text(ca_pem)
            if options.get("cert") and options.get("key"):
                cert, key = Path(options["cert"]), Path(options["key"])
            else:
                cert, key = self_signed(options["bind"].rsplit(":", 1)[0], var_dir)
            command += [
                "--config",
                "python:corpbank.gunicorn_tls",
                "--certfile",
                str(cert),
                "--keyfile",
                str(key),
                "--ca-certs",
                str(client_ca),
                "--cert-reqs",
                str(int(ssl.CERT_OPTIONAL)),
            ]
            os.environ["CORPBANK_HTTPS"] = "1"
        self.stdout.write(f"serving on {'https' if options['tls'] else 'http'}://{options['bind']}/")
        self.stdout.flush()
        os.execv(command[0], command)  # noqa: S606 - gunicorn, with arguments built above
