"""The back office's side of 振込振替 (issue 14 item 8, R-G2): the fee table, the search of transfers, and
the day's interbank outgoing file (全銀 総合振込 format, payments/zengin.py) that operations hands on to
the clearing. Each change and each download is audited (R-I3)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.operators import operator_actor, require_entrant
from corpbank.core import audit, text
from corpbank.core.errors import NotFound, ValidationFailed
from corpbank.payments import banks, zengin
from corpbank.payments.models import Destination, FeeRule, Transfer

MAX_FEE = 100_000
SEARCH_LIMIT = 200
# The header's sending branch and account: the bank files the day's transfers from its settlement
# (為替決済) account, an internal account without a branch or number: 000, その他, zeros.
SETTLEMENT_BRANCH = ("000", "ｶﾜｾｹﾂｻｲ")


def fee_table() -> list[FeeRule]:
    """振込手数料: the six cells, by destination then band."""
    order = {value: index for index, value in enumerate(Destination.values)}
    return sorted(FeeRule.objects.all(), key=lambda rule: (order[rule.destination], rule.band != "under"))


def change_fee(operator: Operator, *, destination: str, band: str, fee: str, ip_address: str = "") -> FeeRule:
    """One cell of the fee table; transfers accepted before keep the fee they were quoted."""
    require_entrant(operator)
    if destination not in Destination.values or band not in FeeRule.Band.values:
        raise ValidationFailed(
            _("入力内容をご確認ください。"), fields={"destination": _("手数料の区分をご確認ください。")}
        )
    typed = text.half_width(fee).removesuffix("円").replace(",", "")
    if not text.is_digits(typed) or int(typed) > MAX_FEE:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "fee": _("手数料は0円から%(max)s円までの数字で入力してください。") % {"max": f"{MAX_FEE:,}"}
            },
        )
    actor = operator_actor(operator, ip_address)
    with transaction.atomic():
        rule = FeeRule.objects.select_for_update().get(destination=destination, band=band)
        before = rule.fee
        rule.fee, rule.changed_at, rule.changed_by = int(typed), timezone.now(), actor.label
        rule.save(update_fields=["fee", "changed_at", "changed_by"])
        audit.record(
            "transfer.fee_changed",
            actor=actor,
            details={"destination": destination, "band": band, "fee": rule.fee, "before": before},
        )
    return rule


@dataclasses.dataclass(frozen=True)
class TransferQuery:
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    contract_number: str = ""
    reception_number: str = ""
    other_banks_only: bool = False


def search(operator: Operator, query: TransferQuery) -> list[Transfer]:
    """振込の検索: by execution day, status, contract and reception number; the newest first, at most
    SEARCH_LIMIT."""
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"date_to": _("振込指定日（まで）は（から）と同じか後の日付を指定してください。")},
        )
    found = Transfer.objects.select_related("contract", "source_account__branch").order_by(
        "-execution_date", "-pk"
    )
    if query.date_from:
        found = found.filter(execution_date__gte=query.date_from)
    if query.date_to:
        found = found.filter(execution_date__lte=query.date_to)
    if query.status:
        found = found.filter(status=query.status)
    if query.contract_number:
        found = found.filter(contract__number=text.half_width(query.contract_number))
    if query.reception_number:
        number = text.half_width(query.reception_number)
        found = found.filter(pk=int(number)) if text.is_digits(number) else found.none()
    if query.other_banks_only:
        found = found.filter(destination=Destination.OTHER_BANK)
    return list(found[:SEARCH_LIMIT])


def scheduled_on(day: date) -> int:
    """How many transfers wait for ``day`` (a closed day added over them moves them to the next
    business day: the worker runs what is due on each business day)."""
    return Transfer.objects.filter(status=Transfer.Status.SCHEDULED, execution_date=day).count()


# Transfers marked sent per UPDATE (their keys are its parameters).
FILED_CHUNK = 10_000


def _executed_elsewhere(day: date) -> QuerySet[Transfer]:
    return Transfer.objects.filter(
        destination=Destination.OTHER_BANK, status=Transfer.Status.EXECUTED, posting__value_date=day
    )


def unsent_on(day: date) -> int:
    """How many of ``day``'s transfers to other banks no file has sent yet."""
    return _executed_elsewhere(day).filter(filed_at__isnull=True).count()


def _sender() -> zengin.Sender:
    return zengin.Sender(
        requester_code=settings.CORPBANK_BANK_CODE,
        name_kana=settings.CORPBANK_BANK_NAME_KANA,
        bank_code=settings.CORPBANK_BANK_CODE,
        bank_name_kana=settings.CORPBANK_BANK_NAME_KANA,
        branch_code=SETTLEMENT_BRANCH[0],
        branch_name_kana=SETTLEMENT_BRANCH[1],
        account_type="9",
        account_number="0000000",
    )


def _record(transfer: Transfer) -> zengin.Record:
    branch = banks.branch(transfer.bank_code, transfer.branch_code)
    return zengin.Record(
        bank_code=transfer.bank_code,
        bank_name_kana=branch.bank.kana if branch else "",
        branch_code=transfer.branch_code,
        branch_name_kana=branch.kana if branch else "",
        account_type=transfer.type,
        account_number=transfer.number,
        holder_kana=transfer.holder_kana,
        amount=transfer.credited,
        customer_code1=transfer.reception_number,
    )


@dataclasses.dataclass(frozen=True)
class Batch:
    """One interbank file sent for a day: when (its transfers' ``filed_at``), how many, how much."""

    filed_at: datetime
    count: int
    total: int


def outgoing_batches(day: date) -> list[Batch]:
    """The files already made for ``day``, oldest first."""
    sent: dict[datetime, list[Transfer]] = {}
    for transfer in _executed_elsewhere(day).filter(filed_at__isnull=False).order_by("filed_at", "pk"):
        sent.setdefault(transfer.filed_at, []).append(transfer)  # type: ignore[arg-type]
    return [Batch(when, len(batch), sum(t.credited for t in batch)) for when, batch in sent.items()]


def outgoing_file(
    operator: Operator, day: date, *, batch: datetime | None = None, ip_address: str = ""
) -> bytes:
    """他行あて振込の送信ファイル. Without ``batch``: the transfers to other banks executed on ``day``
    (their posting's value date: one executed late, after a closed day, goes out on the day it ran) and
    not yet sent, one data record each (the amount the payee receives), in reception order, each
    marked sent (``filed_at``) in the same transaction, so that the next file of the day holds only
    what executed since. With ``batch`` (a file lost on its way): exactly the transfers of that file,
    made again, marking nothing, so that no transfer is ever in two files but the one remade. Audited
    with its count and total."""
    require_entrant(operator)
    actor = operator_actor(operator, ip_address)
    with transaction.atomic():
        executed = _executed_elsewhere(day).order_by("pk")
        if batch is None:
            executed = executed.filter(filed_at__isnull=True).select_for_update(of=("self",))
        else:
            executed = executed.filter(filed_at=batch)
        chosen = list(executed)
        if batch is not None and not chosen:
            raise NotFound(_("指定された送信ファイルは見つかりません。"))
        records = [_record(transfer) for transfer in chosen]
        try:
            data = zengin.write(_sender(), records, day=day)
        except ValueError as unwritable:  # a total beyond the trailer's 12 digits
            raise ValidationFailed(
                _("送信ファイルを作成できません：%(reason)s お取引の件数・金額を確認してください。")
                % {"reason": unwritable}
            ) from unwritable
        if batch is None:
            # Exactly the transfers in the file (one executed meanwhile waits for the next), named by
            # their keys in chunks: PostgreSQL binds at most 65,535 parameters to one statement.
            filed_at, keys = timezone.now(), [transfer.pk for transfer in chosen]
            for start in range(0, len(keys), FILED_CHUNK):
                Transfer.objects.filter(pk__in=keys[start : start + FILED_CHUNK]).update(filed_at=filed_at)
        audit.record(
            "transfer.outgoing_file_downloaded",
            actor=actor,
            details={
                "day": day.isoformat(),
                "count": len(records),
                "total": sum(r.amount for r in records),
                "again": batch.isoformat() if batch is not None else "",
            },
        )
    return data
