"""The bank's token stock and tokens' lives: into stock, shipped to a contract, registered by users
(R-E1–R-E8). The back-office procedures, PSKC import and software tokens build on these."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from corpbank.models import Principal, Token
from corpbank.services import audit
from corpbank.services.errors import Conflict
from corpbank.services.seeds import seal


def add_to_stock(
    *,
    serial: str,
    seed: bytes,
    actor: audit.Actor,
    algorithm: str = "sha1",
    digits: int = 6,
    step_seconds: int = 60,
    expires_on: date | None = None,
    type: str = Token.Type.HARDWARE,
) -> Token:
    """One token into the bank's stock, its seed sealed (R-E1). Inside the caller's transaction when
    there is one (an import is all or nothing), or in its own."""
    with transaction.atomic():
        if Token.objects.filter(serial=serial).exists():
            raise Conflict(_("シリアル番号 %(serial)s は既に登録されています。") % {"serial": serial})
        key_id, sealed = seal(seed, serial=serial)
        try:
            with transaction.atomic():
                token = Token.objects.create(
                    principal=Principal.objects.create(kind=Principal.Kind.TOKEN),
                    type=type,
                    serial=serial,
                    sealed_seed=sealed,
                    seed_key_id=key_id,
                    algorithm=algorithm,
                    digits=digits,
                    step_seconds=step_seconds,
                    expires_on=expires_on,
                )
        except IntegrityError as error:
            raise Conflict(
                _("シリアル番号 %(serial)s は既に登録されています。") % {"serial": serial}
            ) from error
        audit.record("token.stocked", actor=actor, details={"serial": serial, "type": type})
    return token
