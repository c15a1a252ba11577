"""Reads of tokens and their registrations."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Count

from corpbank.core.db import column_date, column_datetime
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


def registration_columns(user: str) -> list[str]:
    """The three columns of a RegistrationState for the user whose id is the SQL expression ``user``."""
    r, t = TokenRegistration._meta.db_table, Token._meta.db_table
    in_force = f"FROM {r} r JOIN {t} t ON t.id = r.token_id WHERE r.user_id = {user} AND r.ended_at IS NULL"
    return [
        f"(SELECT t.state {in_force})",
        f"(SELECT t.expires_on {in_force})",
        f"(SELECT MAX(e.ended_at) FROM {r} e WHERE e.user_id = {user})",  # noqa: S608
    ]


def registration_state(user_id: int) -> RegistrationState:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(registration_columns("%s")), [user_id] * 3)
        row = cursor.fetchone()
    return RegistrationState.of(row)


def registration_in_force(user: CustomerUser) -> TokenRegistration | None:
    """The user's token registration in force, with its token, if any."""
    return TokenRegistration.objects.select_related("token").filter(user=user, ended_at__isnull=True).first()


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
