"""An organization's users: one master and up to N general users per contract (R-A3, R-A4)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.models.bank import Contract
from corpbank.models.secrets import Principal


class CustomerUser(models.Model):
    class Role(models.TextChoices):
        MASTER = "master", _("マスターユーザ")
        GENERAL = "general", _("一般ユーザ")

    class Status(models.TextChoices):
        # The master exists from the contract's registration but has no login ID until the first
        # registration with the initial password (R-B7).
        AWAITING_REGISTRATION = "awaiting_registration", _("初回登録待ち")
        ACTIVE = "active", _("利用中")
        DELETED = "deleted", _("削除済")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="users")
    principal = models.OneToOneField(Principal, on_delete=models.PROTECT, related_name="customer_user")
    role = models.CharField(max_length=10, choices=Role.choices)
    # Unique in the bank and case-sensitive (R-B1); NULL until chosen.
    login_id = models.CharField(max_length=12, null=True, blank=True, unique=True)
    name = models.CharField(max_length=60)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(role="master") & ~Q(status="deleted"),
                name="one_master_per_contract",
            ),
            models.CheckConstraint(condition=Q(role__in=["master", "general"]), name="user_role_known"),
            models.CheckConstraint(
                condition=Q(status="awaiting_registration") | Q(login_id__isnull=False),
                name="registered_user_has_login_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.login_id or '(未登録)'} {self.name}"

    @property
    def is_master(self) -> bool:
        return self.role == self.Role.MASTER


class Permission(models.TextChoices):
    """業務権限 (R-A4)."""

    INQUIRY = "inquiry", _("照会")
    SINGLE_TRANSFER = "single_transfer", _("振込振替")
    BULK_TRANSFER = "bulk_transfer", _("総合振込")
    SALARY_TRANSFER = "salary_transfer", _("給与・賞与振込")
    TAX_PAYMENT = "tax_payment", _("税金・各種料金の払込み")
    PAYEE_MANAGEMENT = "payee_management", _("振込先管理")
    APPROVAL = "approval", _("承認")
    WAGE_DEDUCTION = "wage_deduction", _("賃金控除事務")


class UserPermission(models.Model):
    user = models.ForeignKey(CustomerUser, on_delete=models.CASCADE, related_name="permissions")
    permission = models.CharField(max_length=30, choices=Permission.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "permission"], name="permission_once_per_user"),
        ]


class UsageLimit(models.Model):
    """利用限度額 (R-A4): the contract-wide limit (user is NULL, set by the bank) or a user's limit
    (set by the master), per kind of transaction, in integer yen. A user's limit lies within its
    contract's of the same kind: database triggers (migration 0012) refuse any write that breaks it."""

    class Kind(models.TextChoices):
        SINGLE_TRANSFER = "single_transfer", _("振込振替")
        BULK_TRANSFER = "bulk_transfer", _("総合振込")
        SALARY_TRANSFER = "salary_transfer", _("給与・賞与振込")
        TAX_PAYMENT = "tax_payment", _("税金・各種料金の払込み")

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="limits")
    user = models.ForeignKey(
        CustomerUser, null=True, blank=True, on_delete=models.CASCADE, related_name="limits"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    per_transaction = models.BigIntegerField()
    per_day = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind"],
                condition=Q(user__isnull=True),
                name="contract_limit_once_per_kind",
            ),
            models.UniqueConstraint(
                fields=["user", "kind"], condition=Q(user__isnull=False), name="user_limit_once_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(per_transaction__gte=0, per_day__gte=0), name="limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(per_transaction__lte=models.F("per_day")), name="limit_transaction_within_day"
            ),
        ]
