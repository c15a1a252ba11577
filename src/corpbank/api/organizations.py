"""管理 ≫ 利用者管理: the master's administration of general users — list, add, change (業務権限,
利用限度額), credential reset, lifting a lock, 追加認証のリセット, delete (R-A3, R-A4, R-B8, R-C3, R-D3).
The users' tokens and certificates are in ``api.tokens`` and ``api.certificates``."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from corpbank.api import security
from corpbank.api.schemas import ERRORS, Factors, FactorsIn, LimitSchema
from corpbank.authentication import risk
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations import services as users
from corpbank.organizations.models import CustomerUser
from corpbank.organizations.selectors import ListedUser
from corpbank.organizations.services import LimitInput
from corpbank.web import sessions


class UserOut(Schema):
    id: int
    login_id: str | None
    name: str
    role: str
    status: str
    locked_until: datetime | None
    suspended: bool
    permissions: list[str]
    limits: list[LimitSchema]


class UserAddIn(Schema):
    factors: Factors
    login_id: str
    name: str
    login_password: str = Field(description="initial; the user replaces it at first login")
    confirmation_password: str = Field(description="initial; the user replaces it at first login")
    permissions: list[str] = []
    limits: list[LimitSchema] = []


class UserChangeIn(Schema):
    factors: Factors
    name: str
    permissions: list[str] = []
    limits: list[LimitSchema] = []


class UserResetIn(Schema):
    factors: Factors
    login_password: str
    confirmation_password: str


router = Router(tags=["customer"])


def user_out(user: CustomerUser) -> UserOut:
    return listed_out(
        ListedUser(
            user,
            list(user.permissions.values_list("permission", flat=True)),
            list(user.limits.order_by("id")),
        )
    )


def listed_out(listed: ListedUser) -> UserOut:
    user, principal = listed.user, listed.user.principal
    return UserOut(
        id=user.pk,
        login_id=user.login_id,
        name=user.name,
        role=user.role,
        status=user.status,
        locked_until=principal.locked_until if principal.is_locked(timezone.now()) else None,
        suspended=principal.is_suspended,
        permissions=sorted(listed.permissions),
        limits=[
            LimitSchema(kind=limit.kind, per_transaction=limit.per_transaction, per_day=limit.per_day)
            for limit in listed.limits
        ],
    )


def _limits(limits: list[LimitSchema]) -> list[LimitInput]:
    return [LimitInput(limit.kind, limit.per_transaction, limit.per_day) for limit in limits]


@router.get("/users", auth=security.master, response={200: list[UserOut], **ERRORS})
def list_users(request: HttpRequest) -> list[UserOut]:
    """管理 ≫ 利用者管理: the contract's general users, with their login IDs (R-B8)."""
    return [listed_out(listed) for listed in organization_selectors.user_list(request.auth)]  # type: ignore[attr-defined]


@router.post("/users", auth=security.master, response={201: UserOut, **ERRORS})
def add_user(request: HttpRequest, body: UserAddIn) -> Status[UserOut]:
    user = users.add_general_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        login_id=body.login_id,
        name=body.name,
        login_password=body.login_password,
        confirmation_password=body.confirmation_password,
        permissions=body.permissions,
        limits=_limits(body.limits),
        ip_address=sessions.client_ip(request),
    )
    return Status(201, user_out(user))


@router.get("/users/{user_id}", auth=security.master, response={200: UserOut, **ERRORS})
def get_user(request: HttpRequest, user_id: int) -> UserOut:
    return user_out(organization_selectors.general_user_of(request.auth, user_id))  # type: ignore[attr-defined]


@router.put("/users/{user_id}", auth=security.master, response={200: UserOut, **ERRORS})
def change_user(request: HttpRequest, user_id: int, body: UserChangeIn) -> UserOut:
    user = users.change_general_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        name=body.name,
        permissions=body.permissions,
        limits=_limits(body.limits),
        ip_address=sessions.client_ip(request),
    )
    return user_out(user)


@router.post("/users/{user_id}/delete", auth=security.master, response={204: None, **ERRORS})
def delete_user(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    users.delete_general_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/reset-credentials", auth=security.master, response={204: None, **ERRORS})
def reset_user(request: HttpRequest, user_id: int, body: UserResetIn) -> Status[None]:
    """New one-time passwords; lifts a lockout or suspension (R-B8, R-C3)."""
    users.reset_general_user_credentials(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        login_password=body.login_password,
        confirmation_password=body.confirmation_password,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/lift-lock", auth=security.master, response={204: None, **ERRORS})
def lift_lock(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """利用停止解除 (R-C3)."""
    users.lift_general_user_lock(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/secret-questions/reset", auth=security.master, response={204: None, **ERRORS})
def reset_secret_questions(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """追加認証のリセット of a general user (R-D3): new questions at the next login."""
    risk.reset_by_master(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)
