"""業務権限 (R-A4): which banking operations a user may use. The master user may use every one; a general
user those the master granted (管理 ≫ 利用者管理)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from corpbank.core.errors import Forbidden
from corpbank.organizations.models import CustomerUser, Permission, UserPermission


def may(user: CustomerUser, permission: str) -> bool:
    if user.is_master:
        return True
    return UserPermission.objects.filter(user_id=user.pk, permission=permission).exists()


def require(user: CustomerUser, permission: str) -> None:
    """Forbidden, naming the permission, unless the user holds it."""
    if not may(user, permission):
        raise Forbidden(
            _("%(permission)sの業務権限がありません。マスターユーザに権限の付与をご依頼ください。")
            % {"permission": Permission(permission).label}
        )
