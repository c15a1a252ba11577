"""The bank's token stock and tokens' lives: into stock, shipped to a contract, registered by users
(R-E1–R-E8). The back-office procedures, PSKC import and software tokens build on these."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation, authorized
from corpbank.core import audit, mail, text
from corpbank.core.db import execute, get_row, insert
from corpbank.core.errors import Conflict, DomainError, Forbidden, InvalidCredentials, NotFound
from corpbank.core.policy import current_policy
from corpbank.identity import lockout
from corpbank.identity.models import Principal
from corpbank.organizations.models import Contract, CustomerUser
from corpbank.organizations.selectors import general_user_of
from corpbank.tokens import otp, selectors
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenFee, TokenRegistration
from corpbank.tokens.seeds import seal
from corpbank.tokens.selectors import RegistrationState


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


def needs_registration(
    user: CustomerUser, now: datetime | None = None, registrations: RegistrationState | None = None
) -> bool:
    """R-E7: a user of an OTP contract with no usable token is shown the registration screen at login;
    after a revocation, only once the policy's delay (about 30 minutes) has passed. ``registrations``
    is read here unless the caller has it (the login reads it with the user's passwords)."""
    if not user.contract.otp_required:
        return False
    now = now or timezone.now()
    state = registrations or selectors.registration_state(user.pk)
    today = timezone.localdate(now)
    if (
        state.in_force_state is not None
        and otp.unusable_because(state.in_force_state, state.in_force_expires_on, today) is None
    ):
        return False
    last_ended = state.last_ended_at
    return last_ended is None or last_ended + current_policy().token_reregistration_delay <= now


def ship_to_contract(
    serials: list[str], contract: Contract, *, actor: audit.Actor, fee_reason: str = ""
) -> list[Token]:
    """Tokens from the stock to an organization (inside the approving operator's transaction); an
    additional token or a reissue after loss records the bank's fee (R-E3)."""
    shipped = []
    for serial in serials:
        updated = Token.objects.filter(serial=serial, state=Token.State.IN_STOCK).update(
            state=Token.State.SHIPPED, contract=contract, shipped_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("シリアル番号 %(serial)s は在庫にありません。") % {"serial": serial})
        shipped.append(Token.objects.get(serial=serial))
        if fee_reason:
            record_fee(shipped[-1], contract, fee_reason, actor=actor)
    audit.record(
        "tokens.shipped",
        actor=actor,
        contract_id=contract.pk,
        details={"serials": serials, "fee_reason": fee_reason},
    )
    return shipped


_REPLACE = (
    f"UPDATE {TokenRegistration._meta.db_table} SET ended_at = %s, ended_reason = %s"  # noqa: S608 - names
    " WHERE user_id = %s AND ended_at IS NULL"
)
_PUT_IN_USE = f"UPDATE {Token._meta.db_table} SET state = %s WHERE id = %s AND state = %s"  # noqa: S608


def put_in_use(token: Token, *, user: CustomerUser, actor: audit.Actor, action: str) -> TokenRegistration:
    """The user's token from now on, replacing the one in force (inside the act's transaction)."""
    now = timezone.now()
    registration = TokenRegistration(token=token, user=user, registered_at=now)
    # What TokenRegistration.objects.filter(…).update(…), .create(…) and Token.objects.filter(…).
    # update(…) send, in plain SQL (issue 13: every OTP registration makes them).
    execute(_REPLACE, [now, "replaced", user.pk])
    insert(registration)
    execute(_PUT_IN_USE, [Token.State.IN_USE, token.pk, Token.State.SHIPPED])
    audit.record(
        action,
        actor=actor,
        subject_user_id=user.pk,
        contract_id=user.contract_id,
        details={"serial": token.serial},
    )
    return registration


class RegistrationRefused(InvalidCredentials):
    """Deliberately vague: never says whether the serial exists, belongs elsewhere, or the code was wrong."""

    def __init__(self) -> None:
        DomainError.__init__(self, _("シリアル番号またはワンタイムパスワードに誤りがあります。"))


def register_for_user(
    *, user: CustomerUser, serial: str, code: str, ip_address: str = ""
) -> TokenRegistration:
    """ワンタイムパスワード利用登録: the user registers a token shipped to the contract by its serial
    number and its current code (R-E7). Several users may register the same serial (R-E8)."""

    serial, code = text.typed_together(
        lambda: text.serial(serial, required=True), lambda: text.one_time_password(code)
    )
    token = get_row(
        Token,
        "t.serial = %s AND t.contract_id = %s AND t.state NOT IN (%s, %s)",
        [serial, user.contract_id, Token.State.IN_STOCK, Token.State.REVOKED],
    )
    if token is None:
        raise RegistrationRefused()
    problem = otp.usability_problem(token)
    if problem is not None:
        raise problem
    actor = audit.Actor.customer(user, ip_address)

    def act() -> TokenRegistration:
        return put_in_use(token, user=user, actor=actor, action="token.registered")

    return lockout.verified(
        lambda: otp.check_code(
            token, code, actor=actor, subject_user_id=user.pk, contract_id=user.contract_id
        ),
        act,
        refused=RegistrationRefused,
        master=user.is_master,
    )


def _end_registration(registration: TokenRegistration, *, reason: str, now: datetime) -> None:
    TokenRegistration.objects.filter(pk=registration.pk, ended_at__isnull=True).update(
        ended_at=now, ended_reason=reason
    )
    if not TokenRegistration.objects.filter(token=registration.token_id, ended_at__isnull=True).exists():
        # Nobody uses it any more: the token itself is spent (a lost one stays lost).
        Token.objects.filter(pk=registration.token_id).exclude(state=Token.State.LOST).update(
            state=Token.State.REVOKED
        )


def _target(master: CustomerUser, user_id: int) -> CustomerUser:

    return master if user_id == master.pk else general_user_of(master, user_id)


def _refuse_software_token(token: Token) -> None:
    """A software token is stopped, and resumed by issuing a new one, only through the bank (R-E10)."""
    if token.type == Token.Type.SOFTWARE:
        raise Conflict(
            _(
                "ソフトウェアトークンの利用停止・再開は、お取引店舗の窓口で所定の申込書によりお手続きください。"
            )
        )


def revoke_for_user(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> None:
    """パスワード生成機の失効 by the master, of the master's own token or a general user's (R-E7): it stops
    working for that user at once; the user's next login after the policy's delay shows the
    registration screen."""

    user = _target(master, user_id)
    registration = selectors.registration_in_force(user)
    if registration is None:
        raise Conflict(_("この利用者にはワンタイムパスワードが登録されていません。"))
    _refuse_software_token(registration.token)

    def act() -> None:
        _end_registration(registration, reason="revoked", now=timezone.now())
        audit.record(
            "token.revoked",
            actor=audit.Actor.customer(master, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"serial": registration.token.serial},
        )

    authorized(Operation.TOKEN_REVOCATION, master, factors, ip_address, act)


def lift_lock_for_user(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> None:
    """ワンタイムパスワードの利用停止解除 by the master, for a general user's token (R-C4). A token the
    master uses is lifted only by the bank, on paper."""

    user = general_user_of(master, user_id)
    # Its registration's token; without one, a token stopped while being registered (tokens_to_lift).
    tokens = selectors.tokens_to_lift(user)
    if not tokens:
        raise Conflict(_("この利用者にはワンタイムパスワードが登録されていません。"))
    for token in tokens:
        _refuse_software_token(token)
    if TokenRegistration.objects.filter(token__in=tokens, user=master, ended_at__isnull=True).exists():
        raise Forbidden(
            _("マスターユーザが利用しているパスワード生成機の利用停止解除には、書面でのお手続きが必要です。")
        )

    def act() -> None:
        for token in tokens:
            lockout.lift(
                token.principal_id,
                actor=audit.Actor.customer(master, ip_address),
                subject_user_id=user.pk,
                contract_id=user.contract_id,
                reason="token lock lifted by master",
            )

    authorized(Operation.LIFT_TOKEN_LOCK, master, factors, ip_address, act)


def _not_reportable_lost(token: Token | None, serial: str) -> Conflict | None:
    """Why the token cannot be reported lost: not shipped, or reported lost already."""
    if token is None or token.state == Token.State.IN_STOCK:
        return Conflict(
            _("シリアル番号 %(serial)s のパスワード生成機はお客様に発送されていません。") % {"serial": serial}
        )
    if token.state == Token.State.LOST:  # a revoked one may still be reported lost, for the record
        return Conflict(
            _("シリアル番号 %(serial)s のパスワード生成機は、すでに%(state)sとして利用できなくなっています。")
            % {"serial": token.serial, "state": token.get_state_display()}
        )
    return None


def lost_report_refusal(serial: str) -> str | None:
    """For the screen before a report: why this serial cannot be reported lost, or None."""
    token = Token.objects.filter(serial=text.half_width(serial).upper()).first()
    refusal = _not_reportable_lost(token, serial)
    return refusal.message if refusal is not None else None


def report_lost(*, serial: str, actor: audit.Actor) -> Token:
    """紛失: the bank disables the token at once on the customer's call, and for ever (R-E6). It takes
    effect without a second operator: it can only take access away, and waiting would leave a lost
    token usable."""
    with transaction.atomic(durable=True):
        token = Token.objects.select_for_update().filter(serial=text.half_width(serial).upper()).first()
        refusal = _not_reportable_lost(token, serial)
        if refusal is not None or token is None:
            raise refusal or NotFound()
        now = timezone.now()
        Token.objects.filter(pk=token.pk).update(state=Token.State.LOST)
        TokenRegistration.objects.filter(token=token, ended_at__isnull=True).update(
            ended_at=now, ended_reason="lost"
        )
        audit.record(
            "token.reported_lost",
            actor=actor,
            contract_id=token.contract_id,
            details={"serial": token.serial},
        )
    token.refresh_from_db()
    return token


def record_fee(token: Token, contract: Contract, reason: str, *, actor: audit.Actor) -> TokenFee:
    amount = {
        TokenFee.Reason.ADDITIONAL: settings.CORPBANK_TOKEN_FEE_ADDITIONAL,
        TokenFee.Reason.REISSUE: settings.CORPBANK_TOKEN_FEE_REISSUE,
    }[TokenFee.Reason(reason)]
    fee = TokenFee.objects.create(contract=contract, token=token, reason=reason, amount_yen=amount)
    audit.record(
        "token.fee_recorded",
        actor=actor,
        contract_id=contract.pk,
        details={"serial": token.serial, "reason": reason, "amount_yen": amount},
    )
    return fee


@dataclasses.dataclass
class RenewalReport:
    renewed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (expiring, replacement)
    no_stock: list[str] = dataclasses.field(default_factory=list)


def renew_expiring(*, within_days: int, actor: audit.Actor, today: date | None = None) -> RenewalReport:
    """R-E4: before a token expires the bank sends a replacement without any application: a token from
    the stock is shipped to the same organization (no fee), which is notified by mail. One transaction
    per token; a token is renewed once."""
    today = today or timezone.localdate()
    report = RenewalReport()
    expiring = (
        Token.objects.filter(
            state__in=[Token.State.SHIPPED, Token.State.IN_USE],
            expires_on__isnull=False,
            expires_on__lte=today + timedelta(days=within_days),
            replacement__isnull=True,
        )
        .select_related("contract__organization")
        .order_by("expires_on", "serial")
    )
    for token in expiring:
        with transaction.atomic(durable=True):
            replacement = (
                Token.objects.select_for_update(skip_locked=True)
                .filter(state=Token.State.IN_STOCK, type=token.type)
                .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=today + timedelta(days=within_days)))
                .order_by("-expires_on", "serial")
                .first()
            )
            if replacement is None:
                report.no_stock.append(token.serial)
                continue
            contract = token.contract
            if contract is None:  # the check constraint guarantees a shipped token's organization
                continue
            Token.objects.filter(pk=replacement.pk).update(
                state=Token.State.SHIPPED, contract=contract, shipped_at=timezone.now(), replacement_for=token
            )
            audit.record(
                "token.renewal_shipped",
                actor=actor,
                contract_id=contract.pk,
                details={
                    "expiring": token.serial,
                    "replacement": replacement.serial,
                    "expires_on": token.expires_on,
                },
            )
            if contract.organization.notification_email:
                mail.send_after_commit(
                    to=contract.organization.notification_email,
                    subject=_("【%(bank)s】パスワード生成機の有効期限のお知らせ")
                    % {"bank": settings.CORPBANK_BANK_NAME},
                    body=render_to_string(
                        "corpbank/mail/token_renewal.txt",
                        {
                            "organization": contract.organization.name,
                            "serial": token.serial,
                            "date": text.day(token.expires_on) if token.expires_on else "",
                            "replacement": replacement.serial,
                            "bank_name": settings.CORPBANK_BANK_NAME,
                            "sender": mail.sender(),
                        },
                    ),
                )
            report.renewed.append((token.serial, replacement.serial))
    return report


def end_for_contract(contract: Contract, *, actor: audit.Actor, reason: str) -> int:
    """解約 (inside the approval's transaction): every token registration of the contract's users ends,
    every token shipped to the contract is revoked (a lost one stays lost) and every live software
    token is cancelled. A revoked token is never registered again, on this contract or another: a new
    contract for the same organization starts with tokens of its own (R-F6). Returns the tokens revoked."""
    now = timezone.now()
    ended = TokenRegistration.objects.filter(user__contract=contract, ended_at__isnull=True).update(
        ended_at=now, ended_reason=reason
    )
    SoftwareTokenEnrolment.objects.filter(
        token__contract=contract, state__in=SoftwareTokenEnrolment.LIVE_STATES
    ).update(state=SoftwareTokenEnrolment.State.CANCELLED)
    revoked = (
        Token.objects.filter(contract=contract)
        .exclude(state__in=[Token.State.LOST, Token.State.REVOKED])
        .update(state=Token.State.REVOKED)
    )
    audit.record(
        "tokens.contract_ended",
        actor=actor,
        contract_id=contract.pk,
        details={"registrations_ended": ended, "tokens_revoked": revoked, "reason": reason},
    )
    return revoked
