"""A fresh organization for one browser test, built in the *server's* database through the services, so
that tests do not share tokens, users or lockout state. Run by ``server_shell``; prints JSON."""

from __future__ import annotations

import json
import os
import secrets

from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import AccountInput, cash
from corpbank.core import audit
from corpbank.tokens import otp
from corpbank.tokens import services as tokens
from tests.conftest import MASTER_CONFIRMATION, MASTER_PASSWORD, activate_master, register_contract


def organization(
    login_id: str, *, hardware_tokens: int = 0, software_tokens: bool = False, funds: int = 0
) -> None:
    """A contract with an activated master ``login_id``. With hardware tokens, the contract uses OTP
    and the first token is the master's (registered with the previous minute's code); with software
    tokens, the bank has registered the organization's application; with ``funds``, that many yen paid
    in at the counter on its account."""
    clerks = tuple(Operator.objects.filter(login_name__in=["clerk1", "clerk2"]).order_by("login_name"))
    account = AccountInput(branch_code="101", type="1", number=f"{secrets.randbelow(10**7):07d}")
    registered = register_contract(clerks, accounts=[account], otp_required=bool(hardware_tokens))
    master = activate_master(registered, login_id=login_id, questions=False)
    seeds = {f"{login_id.upper()}{index:02d}": os.urandom(20) for index in range(1, hardware_tokens + 1)}
    for serial, seed in seeds.items():
        tokens.add_to_stock(serial=serial, seed=seed, actor=audit.Actor.system("browser test"))
    if seeds:
        shipment = backoffice.enter_token_shipment(clerks[0], master.contract_id, list(seeds))
        backoffice.approve(clerks[1], shipment.pk)
        first = next(iter(seeds))
        tokens.register_for_user(
            user=master, serial=first, code=otp.totp(seeds[first], otp.now_seconds() - 60)
        )
    if funds:
        cash.post_cash(
            operator=clerks[0], branch_code="101", type="1", number=account.number, amount=str(funds)
        )
    if software_tokens:
        application = backoffice.enter_procedure(clerks[0], master.contract_id, "start-software-tokens")
        backoffice.approve(clerks[1], application.pk)
    print(
        json.dumps(
            {
                "login_id": login_id,
                "password": MASTER_PASSWORD,
                "confirmation": MASTER_CONFIRMATION,
                "contract_id": master.contract_id,
                "account_number": account.number,
                "tokens": {serial: seed.hex() for serial, seed in seeds.items()},
            }
        )
    )
