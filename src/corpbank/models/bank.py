"""The bank's branches and its customers' organizations, contracts and accounts (R-A1, R-A2)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
        return f"{self.branch.code} {self.get_type_display()} {self.number}"
