"""The bank's token stock and tokens' lives: into stock, shipped to a contract, registered by users
(R-E1–R-E8). The back-office procedures, PSKC import and software tokens build on these."""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.models import Contract, CustomerUser, Principal, Token, TokenRegistration
from corpbank.policy import current_policy
from corpbank.services import audit, lockout, otp
from corpbank.services.errors import Conflict, DomainError, InvalidCredentials
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


def registration_in_force(user: CustomerUser) -> TokenRegistration | None:
    return TokenRegistration.objects.select_related("token").filter(user=user, ended_at__isnull=True).first()


def needs_registration(user: CustomerUser, now: datetime | None = None) -> bool:
    """R-E7: a user of an OTP contract with no usable token is shown the registration screen at login;
    after a revocation, only once the policy's delay (about 30 minutes) has passed."""
    if not user.contract.otp_required:
        return False
    now = now or timezone.now()
    registration = registration_in_force(user)
    if (
        registration is not None
        and otp.usability_problem(registration.token, timezone.localdate(now)) is None
    ):
        return False
    last_ended = (
        TokenRegistration.objects.filter(user=user, ended_at__isnull=False).order_by("-ended_at").first()
    )
    delay = current_policy().token_reregistration_delay
    return last_ended is None or last_ended.ended_at is None or last_ended.ended_at + delay <= now


def ship_to_contract(serials: list[str], contract: Contract, *, actor: audit.Actor) -> list[Token]:
    """Tokens from the stock to an organization (inside the approving operator's transaction)."""
    shipped = []
    for serial in serials:
        updated = Token.objects.filter(serial=serial, state=Token.State.IN_STOCK).update(
            state=Token.State.SHIPPED, contract=contract, shipped_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("シリアル番号 %(serial)s は在庫にありません。") % {"serial": serial})
        shipped.append(Token.objects.get(serial=serial))
    audit.record("tokens.shipped", actor=actor, contract_id=contract.pk, details={"serials": serials})
    return shipped


class RegistrationRefused(InvalidCredentials):
    """Deliberately vague: never says whether the serial exists, belongs elsewhere, or the code was wrong."""

    def __init__(self) -> None:
        DomainError.__init__(self, _("シリアル番号またはワンタイムパスワードに誤りがあります。"))


def register_for_user(
    *, user: CustomerUser, serial: str, code: str, ip_address: str = ""
) -> TokenRegistration:
    """ワンタイムパスワード利用登録: the user registers a token shipped to the contract by its serial
    number and its current code (R-E7). Several users may register the same serial (R-E8)."""
    from corpbank.services.authentication import customer_actor

    serial = serial.strip().upper()
    token = (
        Token.objects.filter(serial=serial, contract_id=user.contract_id)
        .exclude(state__in=[Token.State.IN_STOCK, Token.State.REVOKED])
        .first()
    )
    if token is None:
        raise RegistrationRefused()
    problem = otp.usability_problem(token)
    if problem is not None:
        raise problem
    actor = customer_actor(user, ip_address)

    def act() -> TokenRegistration:
        now = timezone.now()
        TokenRegistration.objects.filter(user=user, ended_at__isnull=True).update(
            ended_at=now, ended_reason="replaced"
        )
        registration = TokenRegistration.objects.create(token=token, user=user, registered_at=now)
        Token.objects.filter(pk=token.pk, state=Token.State.SHIPPED).update(state=Token.State.IN_USE)
        audit.record(
            "token.registered",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"serial": token.serial},
        )
        return registration

    return lockout.verified(
        lambda: otp.check_code(
            token, code, actor=actor, subject_user_id=user.pk, contract_id=user.contract_id
        ),
        act,
        refused=RegistrationRefused,
        master=user.is_master,
    )
