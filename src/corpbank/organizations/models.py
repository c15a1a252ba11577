"""The bank's branches and its customers' organizations, contracts and accounts (R-A1, R-A2); an
organization's users: one master and up to N general users per contract (R-A3, R-A4)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.core import text
from corpbank.identity.models import Principal


class Branch(models.Model):
    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{3}$"), name="branch_code_three_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Organization(models.Model):
    name = models.CharField(max_length=120)
    name_kana = models.CharField(max_length=120, help_text="half-width kana, as on Zengin files")
    # Where the bank's notices go (R-I4): token replacements, software-token mails.
    notification_email = models.EmailField(blank=True)

    def __str__(self) -> str:
        return self.name


class Contract(models.Model):
    class Service(models.TextChoices):
        INTERNET_BANKING = "ib", _("団体向けインターネットバンキング")
        WAGE_DEDUCTION = "wage", _("賃金控除事務支援サービス")

    class LoginMethod(models.TextChoices):
        PASSWORD = "password", _("ID・パスワード方式")
        CERTIFICATE = "certificate", _("電子証明書方式")

    class Status(models.TextChoices):
        ACTIVE = "active", _("利用中")
        EMERGENCY_STOPPED = "emergency_stopped", _("緊急停止中")
        TERMINATED = "terminated", _("解約")

    number = models.CharField(max_length=10, unique=True)
    service = models.CharField(max_length=10, choices=Service.choices, default=Service.INTERNET_BANKING)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="contracts")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="contracts")
    login_method = models.CharField(max_length=12, choices=LoginMethod.choices, default=LoginMethod.PASSWORD)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # Bumped when the contract is stopped (緊急停止, 解約): a session started before it never comes back,
    # not even after 緊急停止の解除 (web/sessions).
    session_epoch = models.PositiveIntegerField(default=0)
    # ワンタイムパスワード: the operations of the table's OTP column need a code from the user's token
    # (R-E2), and a user without a usable token is sent to the registration screen at login (R-E7).
    otp_required = models.BooleanField(default=False)
    # ワンタイムパスワード申込書 for software tokens, registered by the bank (R-E9): users may issue one.
    software_tokens = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{10}$"), name="contract_number_ten_digits"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "emergency_stopped", "terminated"]),
                name="contract_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.organization.name}"


class Account(models.Model):
    class Type(models.TextChoices):
        ORDINARY = "1", _("普通")
        CURRENT = "2", _("当座")

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="accounts")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="accounts")
    type = models.CharField(max_length=1, choices=Type.choices, default=Type.ORDINARY)
    number = models.CharField(max_length=7)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["branch", "type", "number"], name="account_unique_in_branch"),
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{7}$"), name="account_number_seven_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch.code} {self.type_label} {self.number}"

    @classmethod
    def well_formed(cls, type: str, number: str) -> bool:
        """A 科目 of the table and a 7-digit number: the shape of every account a person types."""
        return type in cls.Type.values and len(number) == 7 and text.is_digits(number)

    @property
    def type_label(self) -> str:
        """``get_type_display()`` without building the choices' dictionary (the top page, issue 13)."""
        return str(self.Type(self.type).label)


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

    @property
    def role_label(self) -> str:
        """``get_role_display()`` without building the choices' dictionary (the top page, issue 13)."""
        return str(self.Role(self.role).label)


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
