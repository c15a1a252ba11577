"""Everything that moves money: ``post`` and ``reverse`` (R-G7). They run inside the caller's
transaction, which also writes the act that moved the money and its audit event (R-I3), so that the
act, its posting and its event commit together or not at all.

How a posting is written: the accounts' rows are locked in id order, each account's last leg read
after its lock, the new legs numbered on from it with the balance after each, and inserted; then the
posting's row, which seals them (migration 0017). On PostgreSQL that is one call of the database's
``corpbank_ledger_post`` (migration 0022: one round trip, plans kept by the server); on SQLite, where
the IMMEDIATE transaction holds the database's write lock, the same in statements of its own. What the
database's triggers would refuse, the writing refuses first, with a message a customer can read."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.core import audit, text
from corpbank.core.db import columns, execute, insert_rows, insert_statement, inserted, select
from corpbank.core.errors import Conflict, DomainError
from corpbank.ledger.models import MAX_AMOUNT, LedgerAccount, Leg, Posting
from corpbank.organizations.models import Branch


class InsufficientFunds(DomainError):
    """The account's balance does not cover the debit (残高不足)."""

    code = "insufficient_funds"
    http_status = 409

    def __init__(self, account: LedgerAccount) -> None:
        super().__init__(
            _("ご指定の口座（%(account)s）の残高が不足しています。金額をご確認ください。")
            % {"account": str(account)}
        )
        self.account_id = account.pk


class AccountClosed(DomainError):
    code = "account_closed"
    http_status = 409

    def __init__(self, account: LedgerAccount) -> None:
        super().__init__(_("ご指定の口座（%(account)s）は解約済みです。") % {"account": str(account)})
        self.account_id = account.pk


@dataclasses.dataclass(frozen=True)
class Entry:
    """One account's part of a posting to be made: ``amount`` yen in (positive) or out (negative)."""

    account_id: int
    amount: int
    memo: str = ""


def open_customer_account(*, branch: Branch, type: str, number: str, holder: str) -> LedgerAccount:
    """口座開設 in the embedded core: a customer's account at ``branch`` with a zero balance, its
    holder's name kept in the Zengin half-width kana (core/text.half_width_kana). Inside the caller's
    transaction, which audits the act that opened it."""
    holder = text.half_width_kana(holder)
    return LedgerAccount.objects.create(
        kind=LedgerAccount.Kind.CUSTOMER, branch=branch, type=type, number=number, holder_kana=holder
    )


def post(
    *,
    kind: str,
    value_date: date,
    entries: Sequence[Entry],
    reference: str = "",
    reverses: Posting | None = None,
    posted_at: datetime | None = None,
    idempotency_key: str | None = None,
    act: audit.Act | None = None,
) -> Posting:
    """Write one posting of ``entries`` (two or more, summing to zero, each non-zero and of at most 13
    digits) in the caller's transaction. Raises InsufficientFunds when a customer's account would go
    below zero, AccountClosed for a closed account; a posting that does not balance is a programming
    error (ValueError), as the database would refuse it too. ``posted_at`` (default now) is for
    history brought over from elsewhere (移行). ``idempotency_key``, unique among postings, files an
    act that has no row of its own (a counter transaction) under its client's key. ``act``, the audit
    event of the act that moves the money, is written with the posting, the posting's id added to its
    details as ``posting``: on PostgreSQL in the same statement as the posting (one round trip)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.post must run inside the transaction of the act that moves the money")
    _check_balanced(entries)
    posting = Posting(
        kind=kind,
        value_date=value_date,
        reference=reference,
        reverses=reverses,
        posted_at=posted_at or timezone.now(),
        legs_count=len(entries),
        idempotency_key=idempotency_key,
    )
    if connection.vendor == "postgresql":
        _write_in_one_call(posting, entries, act)
    else:
        _write_step_by_step(posting, entries)
    inserted(posting, using=connection.alias)
    if act is not None and connection.vendor != "postgresql":
        act.record(posting=posting.pk)
    return posting


_POST = (
    "SELECT posting_id, refused, refused_account FROM corpbank_ledger_post"
    "(%s, %s, %s, %s, %s, %s, %s::bigint[], %s::bigint[], %s::text[])"
)


def _write_in_one_call(posting: Posting, entries: Sequence[Entry], act: audit.Act | None) -> None:
    """PostgreSQL: the database's ``corpbank_ledger_post`` (migration 0022) writes the posting, and the
    act's event with it when there is one; a refusal comes back as a reason, turned here into the
    customer's message."""
    parameters = [
        posting.kind,
        posting.value_date,
        posting.posted_at,
        posting.reference,
        posting.reverses_id,
        posting.idempotency_key,
        [entry.account_id for entry in entries],
        [entry.amount for entry in entries],
        [entry.memo[:48] for entry in entries],
    ]
    if act is None:
        with transaction.get_connection().cursor() as cursor:
            cursor.execute(_POST, parameters)
            posting_id, refused, account_id = cursor.fetchone()
    else:
        (posting_id, refused, account_id), _event = audit.record_with(
            act, _POST, parameters, when="refused IS NULL", adds={"posting": "posting_id"}
        )
    if refused == "missing":
        raise ValueError(f"no ledger account among {sorted({entry.account_id for entry in entries})}")
    if refused is not None:
        account = LedgerAccount.objects.get(pk=account_id)
        raise AccountClosed(account) if refused == "closed" else InsufficientFunds(account)
    posting.pk = posting_id


def _write_step_by_step(posting: Posting, entries: Sequence[Entry]) -> None:
    """SQLite: the same as ``corpbank_ledger_post``, in statements of its own, while the IMMEDIATE
    transaction holds the database's write lock."""
    accounts = _lock(sorted({entry.account_id for entry in entries}))  # missing: ValueError
    closed = next((account for _, account in sorted(accounts.items()) if account.closed_at is not None), None)
    if closed is not None:  # the first by id, as corpbank_ledger_post answers
        raise AccountClosed(closed)
    positions, posting.pk = _positions(sorted(accounts))
    legs = []
    for entry in entries:
        account = accounts[entry.account_id]
        seq, balance = positions[entry.account_id]
        balance += entry.amount
        if account.kind == LedgerAccount.Kind.CUSTOMER and balance < 0:
            raise InsufficientFunds(account)
        positions[entry.account_id] = (seq + 1, balance)
        legs.append(
            Leg(
                posting_id=posting.pk,
                account_id=entry.account_id,
                seq=seq + 1,
                amount=entry.amount,
                balance_after=balance,
                memo=entry.memo[:48],
            )
        )
    insert_rows(legs)
    statement, values = insert_statement(posting)
    execute(statement, values)


def reverse(*, posting: Posting, value_date: date, reference: str = "") -> Posting:
    """取消: the posting that undoes ``posting``, every leg's amount the other way. A posting is
    reversed at most once (the database's unique key on ``reverses``)."""
    if Posting.objects.filter(reverses=posting).exists():
        raise Conflict(_("この取引はすでに取り消されています。"))
    entries = [
        Entry(leg.account_id, -leg.amount, leg.memo)
        for leg in Leg.objects.filter(posting=posting).order_by("id")
    ]
    try:
        with transaction.atomic():
            return post(
                kind=Posting.Kind.REVERSAL,
                value_date=value_date,
                entries=entries,
                reference=reference,
                reverses=posting,
            )
    except IntegrityError as refused:
        if Posting.objects.filter(reverses=posting).exists():  # reversed meanwhile (the unique key)
            raise Conflict(_("この取引はすでに取り消されています。")) from refused
        raise


def _check_balanced(entries: Sequence[Entry]) -> None:
    if len(entries) < 2:
        raise ValueError("a posting has two or more legs")
    for entry in entries:
        if not isinstance(entry.amount, int) or entry.amount == 0 or abs(entry.amount) > MAX_AMOUNT:
            raise ValueError(
                f"a leg's amount is a non-zero integer of at most 13 digits, not {entry.amount!r}"
            )
    if sum(entry.amount for entry in entries) != 0:
        raise ValueError("a posting's legs sum to zero")


def _lock(account_ids: list[int]) -> dict[int, LedgerAccount]:
    """The accounts (SQLite: the IMMEDIATE transaction already holds the database's write lock)."""
    marks = ", ".join(["%s"] * len(account_ids))
    statement = (
        f"SELECT {columns((LedgerAccount, 'a'))} FROM {LedgerAccount._meta.db_table} a"  # noqa: S608 - names
        f" WHERE a.id IN ({marks}) ORDER BY a.id"
    )
    accounts = {account.pk: account for (account,) in select(statement, account_ids, LedgerAccount)}
    missing = set(account_ids) - set(accounts)
    if missing:
        raise ValueError(f"no ledger account {sorted(missing)}")
    return accounts


def _positions(account_ids: list[int]) -> tuple[dict[int, tuple[int, int]], int]:
    """Each account's last leg (its seq and the balance after it; (0, 0) before any), and the id the
    posting will have (one more than the largest, under the write lock; the legs name it), in one
    statement."""
    posting, leg, account = Posting._meta.db_table, Leg._meta.db_table, LedgerAccount._meta.db_table
    marks = ", ".join(["%s"] * len(account_ids))
    statement = (
        f"SELECT a.id, l.seq, l.balance_after, (SELECT COALESCE(MAX(id), 0) + 1 FROM {posting})"  # noqa: S608
        f" FROM {account} a LEFT JOIN {leg} l ON l.account_id = a.id"
        f" AND l.seq = (SELECT MAX(m.seq) FROM {leg} m WHERE m.account_id = a.id)"
        f" WHERE a.id IN ({marks})"
    )
    rows = select(statement, account_ids)
    positions = {int(row[0]): (int(row[1] or 0), int(row[2] or 0)) for row in rows}
    return positions, int(rows[0][3])
