"""Reads of tokens and their registrations."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Count, OuterRef, Subquery

from corpbank.core import text
from corpbank.core.db import column_date, column_datetime
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import CustomerUser
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenRegistration


@dataclasses.dataclass(frozen=True)
class RegistrationState:
    """A user's token registrations as the registration screen's rule needs them (R-E7): the state and
    expiry of the token in force, if any, and when the last registration ended, if any did."""

    in_force_state: str | None
    in_force_expires_on: date | None
    last_ended_at: datetime | None

    @classmethod
    def of(cls, values: Sequence[Any]) -> RegistrationState:
        state, expires_on, last_ended_at = values
        return cls(state, column_date(expires_on), column_datetime(last_ended_at) if last_ended_at else None)


# The names under which ``registration_subqueries`` annotates a query, in RegistrationState's order.
REGISTRATION_FIELDS = (
    "registration_in_force_state",
    "registration_in_force_expires_on",
    "registration_last_ended_at",
)


def registration_subqueries(user: str) -> dict[str, Subquery]:
    """The three values of a RegistrationState, as annotations of a query whose user is at the path
    ``user`` (a field path of the outer query, ``"pk"`` on users)."""
    registrations = TokenRegistration.objects.filter(user=OuterRef(user))
    in_force = registrations.filter(ended_at__isnull=True)
    ended = registrations.filter(ended_at__isnull=False).order_by("-ended_at")
    return dict(
        zip(
            REGISTRATION_FIELDS,
            (
                Subquery(in_force.values("token__state")[:1]),
                Subquery(in_force.values("token__expires_on")[:1]),
                Subquery(ended.values("ended_at")[:1]),
            ),
            strict=True,
        )
    )


def registration_columns(user: str) -> str:
    """The same three values as ``registration_subqueries``, as SQL for a plain statement whose user
    row has the alias ``user`` (authentication/selectors.py, the login's one read; a test holds the
    two equal)."""
    registration, token = TokenRegistration._meta.db_table, Token._meta.db_table
    in_force = (
        f"FROM {registration} r JOIN {token} t ON t.id = r.token_id"
        f" WHERE r.user_id = {user}.id AND r.ended_at IS NULL LIMIT 1"
    )
    last_ended = (
        f"SELECT r.ended_at FROM {registration} r WHERE r.user_id = {user}.id"  # noqa: S608 - names only
        " AND r.ended_at IS NOT NULL ORDER BY r.ended_at DESC LIMIT 1"
    )
    return f"(SELECT t.state {in_force}), (SELECT t.expires_on {in_force}), ({last_ended})"


def registration_state(user_id: int) -> RegistrationState:
    values = (
        CustomerUser.objects.filter(pk=user_id)
        .annotate(**registration_subqueries("pk"))
        .values_list(*REGISTRATION_FIELDS)
        .first()
    )
    return RegistrationState.of(values or (None, None, None))


def registration_in_force(user: CustomerUser) -> TokenRegistration | None:
    """The user's token registration in force, with its token, if any."""
    return TokenRegistration.objects.select_related("token").filter(user=user, ended_at__isnull=True).first()


def tokens_to_lift(user: CustomerUser) -> list[Token]:
    """The hardware tokens whose stop (R-C4) a lift for ``user`` concerns: the token of the user's
    registration in force; without one, the tokens shipped to the contract that nobody has registered
    and that this user stopped (ten wrong codes typed at ワンタイムパスワード利用登録), which would
    otherwise have no way back but a new token. Never a token another user stopped."""
    registration = registration_in_force(user)
    if registration is not None:
        return [registration.token]
    stopped = list(
        Token.objects.select_related("principal")
        .filter(
            contract_id=user.contract_id,
            type=Token.Type.HARDWARE,
            state=Token.State.SHIPPED,
            principal__suspended_at__isnull=False,
        )
        .exclude(pk__in=TokenRegistration.objects.filter(ended_at__isnull=True).values("token_id"))
        .order_by("serial")
    )
    # Only those this user stopped: the stop's audit event names the user and the serial (tokens.otp).
    by_user = set(
        AuditEvent.objects.filter(
            action="principal.suspended",
            subject_user_id=user.pk,
            details__serial__in=[token.serial for token in stopped],
        ).values_list("details__serial", flat=True)
    )
    return [token for token in stopped if token.serial in by_user]


def reportable_lost(serial: str) -> Token | None:
    """The token of this serial (as typed, full width read) that the bank may still report lost (紛失,
    R-E6): shipped, in use or revoked, with its contract and organization for the confirmation; None
    for one unknown, in stock or lost already (tokens.services.lost_report_refusal says which)."""
    return (
        Token.objects.select_related("contract__organization")
        .filter(
            serial=text.half_width(serial).upper(),
            state__in=[Token.State.SHIPPED, Token.State.IN_USE, Token.State.REVOKED],
        )
        .first()
    )


def software_token(user: CustomerUser) -> SoftwareTokenEnrolment | None:
    """The user's software token: the live one, else the last one the bank stopped or cancelled."""
    enrolments = SoftwareTokenEnrolment.objects.filter(user=user).select_related("token__principal")
    live = enrolments.filter(state__in=SoftwareTokenEnrolment.LIVE_STATES).first()
    return live or enrolments.order_by("-issued_at", "-pk").first()


def hardware_token_counts() -> list[tuple[str, int]]:
    """How many hardware tokens are in each state, for the stock screen."""
    counted = dict(
        Token.objects.filter(type=Token.Type.HARDWARE)
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    return [(str(label), counted.get(state, 0)) for state, label in Token.State.choices]
