"""The master's administration of general users under 管理 ≫ 利用者管理 (R-A3, R-A4, R-B8, R-C3).

Every function takes the acting master and the secrets the operation table asks for; the target user
is always looked up inside the master's own contract, so no master can reach another organization."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TypeVar

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation, authorized
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, Forbidden, ValidationFailed
from corpbank.core.policy import current_policy
from corpbank.identity import lockout
from corpbank.identity.credentials import check_new_credentials, store_secret
from corpbank.identity.models import Principal, SecretKind
from corpbank.organizations.models import CustomerUser, Permission, UsageLimit, UserPermission
from corpbank.organizations.selectors import general_user_of

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class LimitInput:
    kind: str
    per_transaction: int
    per_day: int


# What the database keeps (Django's documented Model _meta API): the messages repeat its limit.
NAME_LENGTH = int(CustomerUser._meta.get_field("name").max_length or 0)


def _checked_profile(
    master: CustomerUser, name: str, permissions: Iterable[str], limits: Iterable[LimitInput]
) -> tuple[list[str], list[LimitInput]]:
    """A general user's name, 業務権限 and 利用限度額 as typed, checked (R-A4): the permissions and limits
    to write, or a message per field, every field's at once."""

    def check_name() -> None:
        if problem := text.name_problem(name, label=_("利用者名"), max_length=NAME_LENGTH):
            raise ValidationFailed(_("入力内容をご確認ください。"), fields={"name": problem})

    _named, chosen_permissions, chosen_limits = text.typed_together(
        check_name, lambda: _check_permissions(permissions), lambda: _check_limits(master, limits)
    )
    return chosen_permissions, chosen_limits


def check_new_user(
    master: CustomerUser,
    *,
    login_id: str,
    name: str,
    login_password: str,
    confirmation_password: str,
    permissions: Iterable[str] = (),
    limits: Iterable[LimitInput] = (),
) -> tuple[list[str], list[LimitInput]]:
    """利用者の追加 as typed, checked before any factor: the login ID's and the passwords' rules (R-B1),
    the name, 業務権限 and 利用限度額, every field's problem told at once; the permissions and limits to
    write. Whether the login ID is taken is told only after the master's factors (add_general_user)."""
    login_id = text.half_width(login_id)  # full-width as typed with the IME on (core/text.py)
    _checked, (chosen_permissions, chosen_limits) = text.typed_together(
        lambda: check_new_credentials(
            login_id=login_id, login_password=login_password, confirmation_password=confirmation_password
        ),
        lambda: _checked_profile(master, name, permissions, limits),
    )
    return chosen_permissions, chosen_limits


def _check_permissions(permissions: Iterable[str]) -> list[str]:

    chosen = sorted(set(permissions))
    unknown = [p for p in chosen if p not in Permission.values]
    if unknown:
        raise ValidationFailed(
            _("入力内容をご確認ください。"), fields={"permissions": _("不明な業務権限です。")}
        )
    return chosen


def _check_limits(master: CustomerUser, limits: Iterable[LimitInput]) -> list[LimitInput]:
    """A user's limit never exceeds the contract's (R-A4)."""
    contract_limits = {
        limit.kind: limit
        for limit in UsageLimit.objects.filter(contract_id=master.contract_id, user__isnull=True)
    }
    checked = []
    problems = {}
    for limit in limits:
        ceiling = contract_limits.get(limit.kind)
        field = f"limit_{limit.kind}"
        if limit.kind not in UsageLimit.Kind.values:
            problems[field] = _("不明な取引種類です。")
        elif limit.per_transaction < 0 or limit.per_day < 0:
            problems[field] = _("限度額は0円以上で入力してください。")
        elif limit.per_transaction > limit.per_day:
            problems[field] = _("1回あたりの限度額は1日あたりの限度額以下にしてください。")
        elif (
            ceiling is None
            or limit.per_transaction > ceiling.per_transaction
            or limit.per_day > ceiling.per_day
        ):
            problems[field] = _("契約の利用限度額を超えています。")
        else:
            checked.append(limit)
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    return checked


def _write_permissions_and_limits(
    user: CustomerUser, permissions: list[str], limits: list[LimitInput]
) -> None:
    UserPermission.objects.filter(user=user).delete()
    UserPermission.objects.bulk_create(UserPermission(user=user, permission=p) for p in permissions)
    UsageLimit.objects.filter(user=user).delete()
    UsageLimit.objects.bulk_create(
        UsageLimit(
            contract_id=user.contract_id,
            user=user,
            kind=limit.kind,
            per_transaction=limit.per_transaction,
            per_day=limit.per_day,
        )
        for limit in limits
    )


def add_general_user(
    *,
    master: CustomerUser,
    factors: dict[str, str],
    login_id: str,
    name: str,
    login_password: str,
    confirmation_password: str,
    permissions: Iterable[str] = (),
    limits: Iterable[LimitInput] = (),
    ip_address: str = "",
) -> CustomerUser:
    """Add a general user with initial passwords the user must replace at first login (R-B8)."""
    if not master.is_master:
        raise Forbidden()
    login_id = text.half_width(login_id)  # full-width as typed with the IME on (core/text.py)
    chosen_permissions, chosen_limits = check_new_user(
        master,
        login_id=login_id,
        name=name,
        login_password=login_password,
        confirmation_password=confirmation_password,
        permissions=permissions,
        limits=limits,
    )

    def act() -> CustomerUser:
        existing = CustomerUser.objects.filter(
            contract_id=master.contract_id, role=CustomerUser.Role.GENERAL
        ).exclude(status=CustomerUser.Status.DELETED)
        if existing.count() >= current_policy().max_general_users:
            raise Conflict(_("登録できる一般ユーザの上限に達しています。"))
        if CustomerUser.objects.filter(login_id=login_id).exists():
            raise ValidationFailed(
                _("入力内容をご確認ください。"), fields={"login_id": _("このログインIDは使用できません。")}
            )
        principal = Principal.objects.create(kind=Principal.Kind.CUSTOMER_USER)
        try:
            user = CustomerUser.objects.create(
                contract_id=master.contract_id,
                principal=principal,
                role=CustomerUser.Role.GENERAL,
                login_id=login_id,
                name=name.strip(),
                status=CustomerUser.Status.ACTIVE,
            )
        except IntegrityError as error:  # a parallel registration of the same login ID
            raise ValidationFailed(
                _("入力内容をご確認ください。"), fields={"login_id": _("このログインIDは使用できません。")}
            ) from error
        _set_initial_passwords(user, login_password, confirmation_password)
        _write_permissions_and_limits(user, chosen_permissions, chosen_limits)
        audit.record(
            "user.added",
            actor=audit.Actor.customer(master, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={
                "login_id": login_id,
                "permissions": chosen_permissions,
                "limits": [dataclasses.asdict(limit) for limit in chosen_limits],
            },
        )
        return user

    return authorized(Operation.ADD_USER, master, factors, ip_address, act)


def _set_initial_passwords(user: CustomerUser, login_password: str, confirmation_password: str) -> None:
    expires_at = timezone.now() + current_policy().initial_password_validity
    for kind, plain in (
        (SecretKind.LOGIN_PASSWORD, login_password),
        (SecretKind.CONFIRMATION_PASSWORD, confirmation_password),
    ):
        store_secret(
            principal_id=user.principal_id, kind=kind, plain=plain, must_change=True, expires_at=expires_at
        )


def change_general_user(
    *,
    master: CustomerUser,
    factors: dict[str, str],
    user_id: int,
    name: str,
    permissions: Iterable[str],
    limits: Iterable[LimitInput],
    ip_address: str = "",
) -> CustomerUser:
    """Change a general user's name, 業務権限 and 利用限度額 (R-A4)."""
    user = general_user_of(master, user_id)
    chosen_permissions, chosen_limits = _checked_profile(master, name, permissions, limits)

    def act() -> CustomerUser:
        CustomerUser.objects.filter(pk=user.pk).update(name=name.strip())
        _write_permissions_and_limits(user, chosen_permissions, chosen_limits)
        audit.record(
            "user.changed",
            actor=audit.Actor.customer(master, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={
                "permissions": chosen_permissions,
                "limits": [dataclasses.asdict(limit) for limit in chosen_limits],
            },
        )
        user.refresh_from_db()
        return user

    return authorized(Operation.CHANGE_USER, master, factors, ip_address, act)


def delete_general_user(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> None:
    user = general_user_of(master, user_id)

    def act() -> None:
        # The login ID is kept on the deleted row so the audit trail stays readable; it cannot log in.
        CustomerUser.objects.filter(pk=user.pk).update(status=CustomerUser.Status.DELETED)
        lockout.end_sessions(user.principal_id)
        audit.record(
            "user.deleted",
            actor=audit.Actor.customer(master, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"login_id": user.login_id},
        )

    authorized(Operation.DELETE_USER, master, factors, ip_address, act)


def reset_general_user_credentials(
    *,
    master: CustomerUser,
    factors: dict[str, str],
    user_id: int,
    login_password: str,
    confirmation_password: str,
    ip_address: str = "",
) -> None:
    """A general user forgot a password or is suspended: the master sets new one-time passwords, which
    also lifts a lockout or suspension (R-B8, R-C3)."""
    user = general_user_of(master, user_id)
    check_new_credentials(
        login_id=user.login_id, login_password=login_password, confirmation_password=confirmation_password
    )

    def act() -> None:
        _set_initial_passwords(user, login_password, confirmation_password)
        actor = audit.Actor.customer(master, ip_address)
        lockout.lift(
            user.principal_id,
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            reason="credentials reset by master",
        )
        lockout.end_sessions(user.principal_id)
        audit.record(
            "user.credentials_reset", actor=actor, subject_user_id=user.pk, contract_id=user.contract_id
        )

    authorized(Operation.RESET_USER_CREDENTIALS, master, factors, ip_address, act)


def lift_general_user_lock(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> str:
    """利用停止解除 of a general user by the master (R-C3); what was lifted (lockout.lift)."""
    user = general_user_of(master, user_id)

    def act() -> str:
        return lockout.lift(
            user.principal_id,
            actor=audit.Actor.customer(master, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            reason="lifted by master",
        )

    return authorized(Operation.LIFT_USER_LOCK, master, factors, ip_address, act)
