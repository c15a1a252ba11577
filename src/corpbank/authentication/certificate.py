"""電子証明書の取得 (R-F3): a certificate is a credential, so obtaining one asks at least what a login
from the same environment asks, and the check and the issuance are one transaction.

1. ``obtain_certificate``: the login ID and login password, checked as the login checks them
   (``services.PasswordCheck``: the lockout, and unknown login IDs counted alike, R-C6). With the right
   password, a user whose contract is active and whose issuance is enabled either receives the
   certificate in that same transaction or, when more must be proved, is told what:
2. ``verify_and_obtain``: the answer to one of the user's secret questions when the bank does not
   recognise the environment (R-D2, as at login), and the one-time password of the user's token when
   the contract uses OTP and the user has a token in force; checked through the lockout mechanism
   (wrong ones count), and the certificate issued in the same transaction.

A failed issuance (the CA not ready, the issuance spent meanwhile) rolls the whole transaction back:
no certificate, no spent code, no counter reset."""

from __future__ import annotations

import dataclasses

from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authentication import risk, services
from corpbank.authentication.models import Question, SecretQuestion
from corpbank.certificates import services as certificates
from corpbank.core import audit, text
from corpbank.core.errors import AdditionalAuthExpired, DomainError, FactorsRejected, InvalidCredentials
from corpbank.identity import lockout
from corpbank.identity import selectors as identity_selectors
from corpbank.identity.hashing import verify_nothing
from corpbank.identity.models import SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.tokens import otp
from corpbank.tokens import selectors as token_selectors


class CertificateVerificationExpired(AdditionalAuthExpired):
    """The question or code belongs to an obtaining that has ended: start again."""

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            _(
                "受付中の電子証明書の取得がないか、一定時間が経過しました。"
                "電子証明書の取得を最初からやり直してください。"
            ),
        )


@dataclasses.dataclass(frozen=True)
class Verification:
    """What the PC must still give before it receives the certificate."""

    user_id: int
    # The position and code of the secret question to answer, when the environment is not recognised.
    position: int | None
    question: str | None
    # Whether the one-time password of the user's token is asked.
    otp: bool

    @property
    def question_label(self) -> str | None:
        return str(Question(self.question).label) if self.question else None


@dataclasses.dataclass(frozen=True)
class ObtainOutcome:
    """The certificate, or what must be proved first (``verify_and_obtain``)."""

    obtained: certificates.Obtained | None = None
    verification: Verification | None = None


def one_time_password_needed(user: CustomerUser) -> bool:
    """The contract uses OTP and the user has a token in force. A user without one yet (before the
    first login's ワンタイムパスワード利用登録, R-E7) has no code to give; the login sends that user to
    the registration, as it does on every contract."""
    return user.contract.otp_required and token_selectors.registration_in_force(user) is not None


def obtain_certificate(
    *, login_id: str, password: str, environment: risk.Environment = risk.UNKNOWN, ip_address: str = ""
) -> ObtainOutcome:
    """電子証明書の取得, first step: login ID and login password, then the certificate, or what the PC
    must prove first (R-D2, OTP)."""
    login_id = text.login_id(login_id)  # as at login: full-width is half-width, a kanji is told
    check = services.PasswordCheck(login_id, password, environment, ip_address, purpose="certificate_obtain")

    def act() -> ObtainOutcome:
        user, actor, rows = check.user_found()
        refusal = certificates.issuance_refusal(user)
        if refusal is not None:
            raise refusal  # rolls the password's success back with the rest: nothing was obtained
        challenge = None
        if rows.has_questions:
            challenge = risk.challenge_for(user, environment, rows.known_environment)
        needs_code = one_time_password_needed(user)
        if challenge is None and not needs_code:
            return ObtainOutcome(obtained=certificates.issue(user, actor=actor))
        audit.record(
            "certificate.verification_required",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={
                "changed": list(challenge.reasons) if challenge else [],
                "question": challenge.question if challenge else None,
                "otp": needs_code,
            },
            writes=check.verdict.writes,
        )
        return ObtainOutcome(
            verification=Verification(
                user_id=user.pk,
                position=challenge.position if challenge else None,
                question=challenge.question if challenge else None,
                otp=needs_code,
            )
        )

    return lockout.verified(check, act, refused=InvalidCredentials, master=check.reads_as_master)


def verify_and_obtain(
    *, user_id: int, position: int | None, answer: str = "", code: str = "", ip_address: str = ""
) -> certificates.Obtained:
    """電子証明書の取得, second step: the answer to the question (if one was asked) and the one-time
    password (if the contract asks one of this user), then the certificate, in one transaction. Wrong
    ones count (the answer against the user, the code against the token); the message never says
    which was wrong (R-C6)."""
    user = (
        CustomerUser.objects.select_related("contract__organization")
        .filter(pk=user_id, status=CustomerUser.Status.ACTIVE)
        .first()
    )
    question = (
        SecretQuestion.objects.select_related("answer").filter(user_id=user_id, position=position).first()
        if position is not None
        else None
    )
    if user is None or (position is not None and question is None):
        verify_nothing(answer)
        raise CertificateVerificationExpired()
    actor = audit.Actor.customer(user, ip_address)
    if one_time_password_needed(user):
        # The code's form before the answer is checked: a message about it tells nothing of the answer.
        code = text.one_time_password(code)

    def check() -> lockout.Verdict:
        principal = identity_selectors.principal_for_update(user.principal_id)
        if question is not None:
            verdict = lockout.check_secret(
                principal_id=user.principal_id,
                kind=SecretKind.SECRET_ANSWER,
                candidate=risk.normalize_answer(answer),
                stored=question.answer,
                actor=actor,
                subject_user_id=user.pk,
                contract_id=user.contract_id,
                record_success=False,
                locked=principal,
            )
        else:  # the password was proved a moment ago; the user may have been locked since
            verdict = lockout.refusal_of(principal, timezone.now()) or lockout.Verdict(ok=True)
        if not verdict.ok or not one_time_password_needed(user):
            return verdict
        # The answer's resets are owed only if the code is right too: a failure resets nothing.
        by_token = otp.check_for_operation(user, code, actor)
        return verdict if by_token.ok else by_token

    return lockout.verified(
        check, lambda: certificates.issue(user, actor=actor), refused=FactorsRejected, master=user.is_master
    )
