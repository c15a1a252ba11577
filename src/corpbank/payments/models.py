"""The banking operations' own rows (R-G2, R-G4): the bank's fee table, the contract's registered
payees (振込先), and each single transfer (振込振替) from its acceptance to its execution.

A transfer names where the money goes by value (bank, branch, type, number, holder), copied when it is
accepted: a payee changed or deleted later does not change what was ordered. The money itself moves
only through the ledger (corpbank.ledger.services.post), in the transaction that marks the transfer
executed, so that a transfer is executed if and only if its posting exists."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.ledger.models import MAX_AMOUNT, LedgerAccount, Posting
from corpbank.organizations.models import Account, Contract, CustomerUser

# The fee table's two bands: under 30,000 yen and from 30,000 yen (SPEC R-G2).
FEE_BAND_THRESHOLD = 30_000


class Destination(models.TextChoices):
    """Where a transfer goes, as the fee table tells them apart."""

    SAME_BRANCH = "same_branch", _("当金庫同一店あて")
    OTHER_BRANCH = "other_branch", _("当金庫本支店あて")
    OTHER_BANK = "other_bank", _("他行あて")


class FeeRule(models.Model):
    """One cell of the fee table (振込手数料): a destination × a band, in yen, tax included. The bank
    edits it in the back office; migration 0021 writes the demo's values."""

    class Band(models.TextChoices):
        UNDER = "under", _("3万円未満")
        FROM = "from", _("3万円以上")

    destination = models.CharField(max_length=12, choices=Destination.choices)
    band = models.CharField(max_length=5, choices=Band.choices)
    fee = models.PositiveIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["destination", "band"], name="fee_rule_once_per_cell"),
            models.CheckConstraint(condition=Q(fee__lte=100_000), name="fee_rule_fee_sensible"),
        ]


class Payee(models.Model):
    """振込先 (R-G4): an account the contract registered to transfer to, with the bank's and branch's
    names as the Zengin data gave them when it was registered."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="payees")
    bank_code = models.CharField(max_length=4)
    bank_name = models.CharField(max_length=60)
    branch_code = models.CharField(max_length=3)
    branch_name = models.CharField(max_length=60)
    type = models.CharField(max_length=1, choices=Account.Type.choices)
    number = models.CharField(max_length=7)
    # 受取人名: half-width kana in the Zengin character set (30 characters, the file's field).
    holder_kana = models.CharField(max_length=30)
    # 登録名: the organization's own name for it (optional).
    nickname = models.CharField(max_length=30, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "bank_code", "branch_code", "type", "number"],
                name="payee_once_per_contract",
            ),
            models.CheckConstraint(
                condition=Q(bank_code__regex=r"^[0-9]{4}$", branch_code__regex=r"^[0-9]{3}$")
                & Q(number__regex=r"^[0-9]{7}$")
                & ~Q(holder_kana=""),
                name="payee_well_formed",
            ),
        ]

    def __str__(self) -> str:
        account = f"{Account.Type(self.type).label} {self.number}"
        return f"{self.bank_name} {self.branch_name} {account} {self.holder_kana}"


class Transfer(models.Model):
    """振込振替 (R-G2): one order from a contract account, accepted (受付), then executed on its day,
    failed, or cancelled (予約取消) before it ran. Its reception number (受付番号) is its id, ten digits."""

    class Kind(models.TextChoices):
        OWN_ACCOUNT = "own_account", _("振替（ご契約口座あて）")
        REGISTERED = "registered", _("登録振込先")
        ADHOC = "adhoc", _("都度指定")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("予約中")
        EXECUTED = "executed", _("完了")
        FAILED = "failed", _("不能")
        CANCELLED = "cancelled", _("取消済")

    class FeeBearer(models.TextChoices):
        PAYER = "payer", _("当方負担")
        PAYEE = "payee", _("先方負担")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="transfers")
    entered_by = models.ForeignKey(CustomerUser, on_delete=models.PROTECT, related_name="transfers")
    # The paying account: the contract's (released at 解約, then empty) and the ledger's, which is never
    # deleted and is what the money leaves.
    source = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="transfers_out"
    )
    source_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    payee = models.ForeignKey(Payee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    destination = models.CharField(max_length=12, choices=Destination.choices)
    bank_code = models.CharField(max_length=4)
    bank_name = models.CharField(max_length=60)
    branch_code = models.CharField(max_length=3)
    branch_name = models.CharField(max_length=60)
    type = models.CharField(max_length=1, choices=Account.Type.choices)
    number = models.CharField(max_length=7)
    holder_kana = models.CharField(max_length=30)
    # 振込金額: what the payer asked to send. With 先方負担 the payee receives it less the fee.
    amount = models.BigIntegerField()
    fee = models.PositiveIntegerField()
    fee_bearer = models.CharField(max_length=5, choices=FeeBearer.choices, default=FeeBearer.PAYER)
    execution_date = models.DateField()  # 振込指定日: a business day
    status = models.CharField(max_length=10, choices=Status.choices)
    entered_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)  # executed, failed or cancelled
    posting = models.OneToOneField(
        Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="transfer"
    )
    failure = models.CharField(max_length=200, blank=True)
    # The client's key for the order (the API's Idempotency-Key header, the confirmation screen's
    # one-time token) and a digest of what was asked with it: the same key again gives the same transfer.
    idempotency_key = models.CharField(max_length=80, blank=True)
    request_digest = models.CharField(max_length=64, blank=True)
    # To another bank: when it went out in the interbank file (送信済), once; a later file leaves it out.
    filed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "execution_date"], name="transfer_due"),
            models.Index(fields=["contract", "execution_date"], name="transfer_contract_day"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["entered_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="transfer_idempotency_key_once",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0, amount__lte=MAX_AMOUNT), name="transfer_amount_positive_13_digits"
            ),
            models.CheckConstraint(
                condition=Q(fee_bearer="payer") | Q(amount__gt=models.F("fee")), name="transfer_covers_fee"
            ),
            # Executed if and only if its posting exists; finished once it left 予約中.
            models.CheckConstraint(
                condition=(Q(status="executed") & Q(posting__isnull=False, finished_at__isnull=False))
                | (Q(status__in=["failed", "cancelled"]) & Q(posting__isnull=True, finished_at__isnull=False))
                | (Q(status="scheduled") & Q(posting__isnull=True, finished_at__isnull=True)),
                name="transfer_status_matches_posting",
            ),
        ]

    # Set on the transfer a retried order answers with (payments/transfers.py): not a column.
    replayed = False

    @property
    def reception_number(self) -> str:
        return f"{self.pk:010d}"

    @property
    def credited(self) -> int:
        """What the payee's account receives."""
        return self.amount - self.fee if self.fee_bearer == self.FeeBearer.PAYEE else self.amount

    @property
    def debited(self) -> int:
        """What leaves the source account."""
        return self.amount if self.fee_bearer == self.FeeBearer.PAYEE else self.amount + self.fee
