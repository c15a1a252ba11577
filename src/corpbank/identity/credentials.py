"""Rules for the secrets users choose (R-B1–R-B3), and storing them (R-B5)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.core.errors import ValidationFailed
from corpbank.core.policy import current_policy
from corpbank.identity.hashing import hash_secret
from corpbank.identity.models import Secret, SecretKind

# Half-width letters, digits and symbols: printable ASCII without the space.
_HALF_WIDTH = re.compile(r"^[\x21-\x7e]+$")
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")


def character_rule_problem(value: str) -> str | None:
    """Why a login ID or password breaks the shared character rules, or None (R-B1–R-B3)."""
    rules = current_policy().password_rules
    if not rules.min_length <= len(value) <= rules.max_length:
        return _("%(min)d文字以上%(max)d文字以内で入力してください。") % {
            "min": rules.min_length,
            "max": rules.max_length,
        }
    if not _HALF_WIDTH.match(value):
        return _("半角英数字記号で入力してください。")
    if not (_LETTER.search(value) and _DIGIT.search(value)):
        return _("英字と数字を必ず混在させてください。")
    return None


def check_new_credentials(
    *,
    login_id: str | None,
    login_password: str | None = None,
    login_password_again: str | None = None,
    confirmation_password: str | None = None,
    confirmation_password_again: str | None = None,
) -> None:
    """Validate what a user chose, field by field; raise one ValidationFailed naming every bad field."""
    problems: dict[str, str] = {}
    if login_id is not None and (problem := character_rule_problem(login_id)):
        problems["login_id"] = problem
    if login_password is not None:
        if problem := character_rule_problem(login_password):
            problems["login_password"] = problem
        elif login_id is not None and login_password == login_id:
            problems["login_password"] = _("ログインIDと異なるパスワードを設定してください。")
        elif login_password_again is not None and login_password != login_password_again:
            problems["login_password_again"] = _("確認のため入力したパスワードが一致しません。")
    if confirmation_password is not None:
        if problem := character_rule_problem(confirmation_password):
            problems["confirmation_password"] = problem
        elif login_id is not None and confirmation_password == login_id:
            problems["confirmation_password"] = _("ログインIDと異なるパスワードを設定してください。")
        elif login_password is not None and confirmation_password == login_password:
            problems["confirmation_password"] = _("ログインパスワードと異なるパスワードを設定してください。")
        elif confirmation_password_again is not None and confirmation_password != confirmation_password_again:
            problems["confirmation_password_again"] = _("確認のため入力したパスワードが一致しません。")
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)


def store_secret(
    *,
    principal_id: int,
    kind: str,
    plain: str,
    must_change: bool = False,
    now: datetime | None = None,
    expires_at: datetime | None = None,
) -> Secret:
    """Replace a principal's secret of one kind. A login password chosen by its holder must be
    changed after the policy's lifetime (R-B6); one chosen by somebody else, at the next login."""
    now = now or timezone.now()
    change_due_at = None
    if kind == SecretKind.LOGIN_PASSWORD and not must_change:
        change_due_at = now + current_policy().password_lifetime
    Secret.objects.filter(principal_id=principal_id, kind=kind).delete()
    return Secret.objects.create(
        principal_id=principal_id,
        kind=kind,
        hash=hash_secret(plain),
        set_at=now,
        expires_at=expires_at,
        change_due_at=change_due_at,
        must_change=must_change,
    )


def store_pin(*, contract_id: int, kind: str, pin_hash: str) -> None:
    """Store a contract PIN hashed when the operator entered it (R-B4)."""
    Secret.objects.update_or_create(contract_id=contract_id, kind=kind, defaults={"hash": pin_hash})


def check_pin_format(value: str) -> str | None:
    if not re.fullmatch(r"[0-9]{4}", value or ""):
        return _("暗証番号は数字4桁で入力してください。")
    return None


def generate_initial_password(length: int = 10) -> str:
    """A printable initial password that satisfies the character rules (R-B7): ``length`` characters
    from an alphabet without look-alikes (0/O, 1/l/I), with at least one letter and one digit."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
    digits = "23456789"
    alphabet = letters + digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c in letters for c in candidate) and any(c in digits for c in candidate):
            return candidate


def is_mail_address(value: str) -> bool:
    try:
        validate_email(value.strip())
    except ValidationError:
        return False
    return True
