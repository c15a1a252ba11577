"""The TLS tests' bank, built in the server's database (run by ``server_shell``): the CA, a contract of
the certificate method with a master and two general users, and their certificates written as PEM
files the way a PC would hold them after importing the PKCS#12 (valid, revoked, expired); a second
contract whose organization leaves (解約, in the nginx test), with its master's certificate; and two
approvers with the tests' authenticator app. Prints JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import transaction
from django.utils import timezone

from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import AccountInput
from corpbank.certificates import services as certificates
from corpbank.core import audit
from corpbank.organizations import services as users
from corpbank.organizations.models import Branch
from tests.conftest import (
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    activate_master,
    make_operator,
    obtain_certificate,
    register_contract,
)

LEAVING = {
    "login_id": "leave001",
    "organization_name": "コープ退会労働組合",
    "organization_name_kana": "ｺｰﾌﾟﾀｲｶｲﾛｳﾄﾞｳｸﾐｱｲ",
    "account": "6666666",
}

BANK = audit.Actor.system("tls test")


def _write(directory: Path, name: str, obtained: certificates.Obtained) -> dict[str, str]:
    key, cert, _chain = pkcs12.load_key_and_certificates(obtained.pkcs12, obtained.password.encode())
    assert key is not None and cert is not None
    key_path, cert_path = directory / f"{name}-key.pem", directory / f"{name}-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"key": str(key_path), "cert": str(cert_path)}


def _issue(user, **kwargs) -> certificates.Obtained:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        certificates.enable_issuance(user, actor=BANK)
    return obtain_certificate(user, **kwargs)


def bank(directory: str) -> None:
    target = Path(directory)
    certificates.init_ca(common_name="corpbank TLS test CA", actor=BANK)
    Branch.objects.create(code="101", name="本店営業部")
    clerks = tuple(make_operator(name) for name in ("clerk1", "clerk2"))
    assert all(isinstance(clerk, Operator) for clerk in clerks)
    registered = register_contract(
        clerks, login_method="certificate", accounts=[AccountInput("101", "1", "5555555")]
    )
    master = activate_master(registered, questions=False)
    others = {
        login_id: users.add_general_user(
            master=master,
            factors={"confirmation_password": MASTER_CONFIRMATION},
            login_id=login_id,
            name=login_id,
            login_password="Init1login",
            confirmation_password="Init1conf",
        )
        for login_id in ("revoked01", "expired01")
    }
    files = {"master": _write(target, "master", _issue(master))}
    files["revoked"] = _write(target, "revoked", _issue(others["revoked01"]))
    with transaction.atomic():
        certificates.revoke(certificates.active_certificate(others["revoked01"]), actor=BANK, reason="test")
    files["expired"] = _write(
        target, "expired", _issue(others["expired01"], now=timezone.now() - timedelta(days=400))
    )
    leaving = activate_master(
        register_contract(
            clerks,
            organization_name=LEAVING["organization_name"],
            organization_name_kana=LEAVING["organization_name_kana"],
            login_method="certificate",
            accounts=[AccountInput("101", "1", LEAVING["account"])],
        ),
        login_id=LEAVING["login_id"],
        questions=False,
    )
    files["leaving"] = _write(target, "leaving", _issue(leaving))
    print(
        json.dumps(
            {
                "login_id": MASTER_LOGIN_ID,
                "password": MASTER_PASSWORD,
                "files": files,
                "leaving_contract_id": leaving.contract_id,
            }
        )
    )
