"""The ledger's tables (R-G7). The rules each row must keep are in the package's docstring; the triggers
that enforce them are migration 0017's (core/db.py creates SQLite's again after every migrate)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.organizations.models import Account, Branch

# 13 digits: the largest amount a posting may carry (issue 14's "over 13 digits" is refused).
MAX_AMOUNT = 9_999_999_999_999


class LedgerAccount(models.Model):
    """An account of the ledger: a customer's 普通 or 当座 account at a branch (an organization's, or
    another customer's of the bank, so that same-bank transfers have somewhere to go), or one of the
    bank's internal accounts. Its balance is its last leg's ``balance_after`` (selectors.balance).

    A contract's registered account (organizations.Account, ご契約口座) is this account by its branch,
    type and number: the internet banking and the core system know an account by that key alone, so
    that a bank's own core system answers for the same accounts (the package's docstring)."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("お客さま口座")
        INTERNAL = "internal", _("内部勘定")

    class Purpose(models.TextChoices):
        SETTLEMENT = "settlement", _("為替決済")
        FEE_INCOME = "fee_income", _("手数料収入")
        SUSPENSE = "suspense", _("仮受金")
        CASH = "cash", _("現金")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    purpose = models.CharField(max_length=12, choices=Purpose.choices, blank=True)
    branch = models.ForeignKey(Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=1, choices=Account.Type.choices, blank=True)
    number = models.CharField(max_length=7, blank=True)
    # 口座名義: half-width kana in the Zengin character set (core/text.py), as transfers carry it.
    holder_kana = models.CharField(max_length=120, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "type", "number"],
                condition=Q(kind="customer"),
                name="ledger_customer_account_unique",
            ),
            models.UniqueConstraint(
                fields=["purpose"], condition=Q(kind="internal"), name="ledger_internal_account_once"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=["", "settlement", "fee_income", "suspense", "cash"]),
                name="ledger_account_purpose_known",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="customer",
                        purpose="",
                        branch__isnull=False,
                        number__regex=r"^[0-9]{7}$",
                        type__in=["1", "2"],
                    )
                    & ~Q(holder_kana="")
                )
                | Q(kind="internal", branch__isnull=True, number="", type="") & ~Q(purpose=""),
                name="ledger_account_is_customer_or_internal",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.INTERNAL:
            return str(self.Purpose(self.purpose).label)
        branch = self.branch.code if self.branch else ""
        return f"{branch} {Account.Type(self.type).label} {self.number}"


class Posting(models.Model):
    """One movement of money: its legs sum to zero. Written after its legs, which it seals."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("振込振替")
        CASH_DEPOSIT = "cash_deposit", _("窓口入金")
        CASH_WITHDRAWAL = "cash_withdrawal", _("窓口出金")
        OPENING = "opening", _("移行残高")
        REVERSAL = "reversal", _("取消")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value_date = models.DateField()  # the business day it takes effect (勘定日)
    posted_at = models.DateTimeField(default=timezone.now)
    # The reception number (受付番号) of the act that made it, when it has one.
    reference = models.CharField(max_length=40, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal"
    )
    # How many legs it seals: a leg added later, by any transaction, is refused at its commit
    # (migration 0020). Empty on the postings written before that rule.
    legs_count = models.PositiveSmallIntegerField(null=True, blank=True)
    # The key the act that made it was filed under when it has no row of its own (a counter
    # transaction: its teller's Idempotency-Key), unique; never shown to the customer.
    idempotency_key = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001 - NULL: no key

    class Meta:
        constraints = [
            # The same key twice is the same act, paid once (backoffice/services/cash.py).
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_posting_key_once",
            ),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="ledger_reversal_names_its_posting",
            ),
        ]


class Leg(models.Model):
    """One account's part of a posting, positive when money comes into the account (入金), negative
    when it leaves (出金); ``seq`` numbers the account's legs from 1, and ``balance_after`` is the
    account's balance after this leg (the running balance of 入出金明細)."""

    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="legs")
    seq = models.PositiveBigIntegerField()
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    memo = models.CharField(max_length=48, blank=True)  # 摘要, as the statement shows it

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "seq"], name="ledger_leg_once_per_place"),
            models.CheckConstraint(
                condition=~Q(amount=0) & Q(amount__gte=-MAX_AMOUNT, amount__lte=MAX_AMOUNT),
                name="ledger_leg_amount_nonzero_13_digits",
            ),
        ]
