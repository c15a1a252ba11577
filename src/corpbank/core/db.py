"""Small helpers for the few statements written as SQL (see services/lockout.py and services/audit.py)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)


def insert_statement(
    instance: models.Model,
    using: str = "default",
    *,
    computed: dict[str, tuple[str, list[Any]]] | None = None,
    source: str = "",
    returning: tuple[str, ...] = (),
) -> tuple[str, list[Any]]:
    """The INSERT of a new row, reading its generated key back (``RETURNING``), and its parameters:
    what ``save(force_insert=True)`` sends, without the ORM's compiler and signals (none are connected
    to the models written this way). For the row written on every login (the audit event), where the
    ORM's own work costs more CPU than the database's.

    ``computed`` gives some columns (by attribute name) an SQL expression with its own parameters in
    place of the instance's value; they may read ``source`` (``INSERT … SELECT … FROM source``).
    ``returning`` names more columns to read back after the key."""
    connection = transaction.get_connection(using)
    computed = computed or {}
    # A generated key is left to the database (and read back), unless the instance already has one.
    generated = isinstance(instance._meta.pk, models.AutoField) and instance.pk is None  # BigAutoField too
    statement, fields = _insert_text(
        type(instance),
        using,
        generated,
        tuple((name, expression) for name, (expression, _) in computed.items()),
        source,
        returning,
    )
    values: list[Any] = []
    for field in fields:
        if field.attname in computed:
            values += computed[field.attname][1]
        else:
            values.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return statement, values


@functools.cache
def _insert_text(
    model: type[models.Model],
    using: str,
    generated: bool,
    computed: tuple[tuple[str, str], ...],
    source: str,
    returning: tuple[str, ...],
) -> tuple[str, list[models.Field[Any, Any]]]:
    """``insert_statement``'s SQL, the same for every row of one shape (built once per process), and
    the fields whose values it takes, in order. Names from the model's metadata only."""
    meta = model._meta
    auto = meta.pk if generated else None
    fields = [field for field in meta.concrete_fields if field is not auto]
    quote = transaction.get_connection(using).ops.quote_name
    expressions = dict(computed)
    placeholders = [expressions.get(field.attname, "%s") for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    if source:
        statement += f"SELECT {', '.join(placeholders)} FROM {source}"  # noqa: S608
    else:
        statement += f"VALUES ({', '.join(placeholders)})"
    returned = ([auto.column] if auto is not None else []) + list(returning)
    if returned:
        statement += " RETURNING " + ", ".join(quote(column) for column in returned)
    return statement, fields


def insert_rows(instances: Sequence[models.Model], using: str = "default") -> None:
    """Several new rows of one model in one INSERT, their keys left to the database and not read back
    (the ledger's legs of one posting, issue 14)."""
    meta = instances[0]._meta
    connection = transaction.get_connection(using)
    fields = [field for field in meta.concrete_fields if not isinstance(field, models.AutoField)]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"  # noqa: S608
        f" VALUES {', '.join([row] * len(instances))}"
    )
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for instance in instances
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)


def inserted(instance: models.Model, pk: Any = None, using: str = "default") -> None:
    """Mark ``instance`` as the saved row that ``insert_statement`` wrote (with the key it returned)."""
    if pk is not None:
        instance.pk = pk
    instance._state.adding = False
    instance._state.db = using


def insert(instance: models.Model, using: str = "default") -> None:
    """Write ``instance`` as a new row with one INSERT (see ``insert_statement``)."""
    generated = isinstance(instance._meta.pk, models.AutoField) and instance.pk is None
    statement, values = insert_statement(instance, using)
    with transaction.get_connection(using).cursor() as cursor:
        cursor.execute(statement, values)
        inserted(instance, cursor.fetchone()[0] if generated else None, using)


@dataclasses.dataclass
class Writes:
    """Data-modifying statements a transaction owes, sent together with its audit event (one round
    trip on PostgreSQL, see ``audit.record``) or, if no event takes them, on their own by ``flush``
    before the transaction ends. Each must give the same result whenever it runs in the transaction."""

    statements: list[tuple[str, list[Any]]] = dataclasses.field(default_factory=list)
    done: bool = False

    def add(self, statement: str, parameters: list[Any]) -> None:
        self.statements.append((statement, parameters))

    def taken(self) -> list[tuple[str, list[Any]]]:
        """The statements, for a caller that sends them in its own statement; they count as sent."""
        statements, self.done = ([] if self.done else self.statements), True
        return statements

    def flush(self, using: str = "default") -> None:
        """Send what no event took, each on its own."""
        statements = self.taken()
        if statements:
            with transaction.get_connection(using).cursor() as cursor:
                for statement, parameters in statements:
                    cursor.execute(statement, parameters)


def usage_limit_violation(contract: str, kind: str, distinct: str) -> str:
    """A query that finds a row when the (contract, kind) named by the SQL expressions ``contract``
    and ``kind`` holds a user's limit outside the contract's limit of that kind (R-A4): the user is
    of another contract, the contract has no limit of the kind, or the user's is higher. ``distinct``
    is the engine's NULL-safe inequality. For SQLite's triggers below; migration 0012 carries its own
    copy of the text (tests/core/test_migration_sql.py keeps the two the same)."""
    return f"""SELECT 1 FROM corpbank_usagelimit x
        LEFT JOIN corpbank_customeruser u ON u.id = x.user_id
        LEFT JOIN corpbank_usagelimit c
            ON c.contract_id = x.contract_id AND c.kind = x.kind AND c.user_id IS NULL
        WHERE x.contract_id = {contract} AND x.kind = {kind} AND x.user_id IS NOT NULL
            AND (u.contract_id {distinct} x.contract_id OR c.id IS NULL
                 OR x.per_transaction > c.per_transaction OR x.per_day > c.per_day)"""  # noqa: S608 - names and the trigger's own row, no value


USAGE_LIMIT_MESSAGE = (
    "corpbank_usagelimit: a user''s limit must lie within the contract''s limit of its kind (R-A4)"
)


def _usage_limit_trigger(event: str, rows: tuple[str, ...]) -> str:
    """SQLite's trigger after ``event`` on limits, checking the (contract, kind) of each of ``rows``."""
    broken = " OR ".join(
        f"EXISTS ({usage_limit_violation(f'{row}.contract_id', f'{row}.kind', 'IS NOT')})" for row in rows
    )
    return f"""CREATE TRIGGER IF NOT EXISTS corpbank_usagelimit_within_contract_{event.lower()}
           AFTER {event} ON corpbank_usagelimit WHEN {broken}
           BEGIN SELECT RAISE(ABORT, '{USAGE_LIMIT_MESSAGE}'); END;"""


# SQLite rebuilds a table to alter it, and the rebuilt table has no triggers: these are created again
# after every migrate (corpbank.apps), each once its table exists. The migrations that introduced them
# (0002, 0005, 0012, 0016, 0017, 0020) carry their own copies, so that changing a trigger here never changes a
# migration already run: a change needs a new migration too (tests/core/test_migration_sql.py says so).
# PostgreSQL keeps its triggers, written in those migrations.
SQLITE_TRIGGERS = {
    "corpbank_auditevent": [
        """CREATE TRIGGER IF NOT EXISTS corpbank_auditevent_no_update BEFORE UPDATE ON corpbank_auditevent
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditevent is append-only'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_auditevent_no_delete BEFORE DELETE ON corpbank_auditevent
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditevent is append-only'); END;""",
    ],
    "corpbank_auditseal": [
        """CREATE TRIGGER IF NOT EXISTS corpbank_auditseal_no_update BEFORE UPDATE ON corpbank_auditseal
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditseal is append-only'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_auditseal_no_delete BEFORE DELETE ON corpbank_auditseal
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditseal is append-only'); END;""",
    ],
    "corpbank_token": [
        """CREATE TRIGGER IF NOT EXISTS corpbank_token_lost_is_final BEFORE UPDATE OF state ON corpbank_token
           WHEN OLD.state = 'lost' AND NEW.state <> 'lost'
           BEGIN SELECT RAISE(ABORT, 'a token reported lost can never be used again'); END;""",
    ],
    "corpbank_usagelimit": [
        _usage_limit_trigger("INSERT", ("NEW",)),
        _usage_limit_trigger("UPDATE", ("NEW", "OLD")),
    ],
    # The ledger (R-G7): migrations 0017 and 0020 say what each rule is for.
    "corpbank_posting": [
        """CREATE TRIGGER IF NOT EXISTS corpbank_posting_no_update BEFORE UPDATE ON corpbank_posting
           BEGIN SELECT RAISE(ABORT,
               'corpbank_posting is append-only: a correction is a reversing posting'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_posting_no_delete BEFORE DELETE ON corpbank_posting
           BEGIN SELECT RAISE(ABORT,
               'corpbank_posting is append-only: a correction is a reversing posting'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_posting_balanced BEFORE INSERT ON corpbank_posting
           WHEN EXISTS (SELECT 1 FROM corpbank_posting WHERE id = NEW.id)
               OR NEW.legs_count IS NULL
               OR (SELECT COUNT(*) FROM corpbank_leg WHERE posting_id = NEW.id) < 2
               OR (SELECT COUNT(*) FROM corpbank_leg WHERE posting_id = NEW.id) <> NEW.legs_count
               OR (SELECT COALESCE(SUM(amount), 0) FROM corpbank_leg WHERE posting_id = NEW.id) <> 0
           BEGIN SELECT RAISE(ABORT,
               'corpbank_posting: a posting must have two or more legs summing to zero'); END;""",
    ],
    "corpbank_leg": [
        """CREATE TRIGGER IF NOT EXISTS corpbank_leg_no_update BEFORE UPDATE ON corpbank_leg
           BEGIN SELECT RAISE(ABORT,
               'corpbank_leg is append-only: a correction is a reversing posting'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_leg_no_delete BEFORE DELETE ON corpbank_leg
           BEGIN SELECT RAISE(ABORT,
               'corpbank_leg is append-only: a correction is a reversing posting'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_leg_fits BEFORE INSERT ON corpbank_leg
           BEGIN
               SELECT RAISE(ABORT, 'corpbank_leg is append-only: a correction is a reversing posting')
                   WHERE EXISTS (SELECT 1 FROM corpbank_leg
                                 WHERE id = NEW.id OR (account_id = NEW.account_id AND seq = NEW.seq));
               SELECT RAISE(ABORT, 'corpbank_leg: amounts are whole yen')
                   WHERE typeof(NEW.amount) <> 'integer' OR typeof(NEW.balance_after) <> 'integer'
                       OR typeof(NEW.seq) <> 'integer';
               SELECT RAISE(ABORT, 'corpbank_leg: its posting is sealed; a correction is a reversing posting')
                   WHERE EXISTS (SELECT 1 FROM corpbank_posting WHERE id = NEW.posting_id);
               SELECT RAISE(ABORT, 'corpbank_leg: the account is closed or does not exist')
                   WHERE NOT EXISTS (SELECT 1 FROM corpbank_ledgeraccount
                                     WHERE id = NEW.account_id AND closed_at IS NULL);
               SELECT RAISE(ABORT, 'corpbank_leg: a leg must carry the balance after it')
                   WHERE NEW.balance_after IS NOT (CASE WHEN NEW.seq = 1 THEN 0 ELSE
                       (SELECT balance_after FROM corpbank_leg
                        WHERE account_id = NEW.account_id AND seq = NEW.seq - 1) END) + NEW.amount;
               SELECT RAISE(ABORT, 'corpbank_leg: a customer''s account never goes below zero')
                   WHERE NEW.balance_after < 0
                       AND (SELECT kind FROM corpbank_ledgeraccount WHERE id = NEW.account_id) = 'customer';
           END;""",
    ],
    "corpbank_ledgeraccount": [
        """CREATE TRIGGER IF NOT EXISTS corpbank_ledgeraccount_once BEFORE INSERT ON corpbank_ledgeraccount
           WHEN EXISTS (SELECT 1 FROM corpbank_ledgeraccount WHERE id = NEW.id
                        OR (kind = 'customer' AND NEW.kind = 'customer' AND branch_id = NEW.branch_id
                            AND type = NEW.type AND number = NEW.number)
                        OR (kind = 'internal' AND NEW.kind = 'internal' AND purpose = NEW.purpose))
           BEGIN SELECT RAISE(ABORT, 'corpbank_ledgeraccount: an account is never replaced'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_ledgeraccount_no_delete
           BEFORE DELETE ON corpbank_ledgeraccount
           BEGIN SELECT RAISE(ABORT, 'corpbank_ledgeraccount: an account is closed, never deleted'); END;""",
        """CREATE TRIGGER IF NOT EXISTS corpbank_ledgeraccount_kept BEFORE UPDATE ON corpbank_ledgeraccount
           WHEN NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR NEW.purpose IS NOT OLD.purpose
               OR NEW.branch_id IS NOT OLD.branch_id OR NEW.type IS NOT OLD.type
               OR NEW.number IS NOT OLD.number OR NEW.opened_at IS NOT OLD.opened_at
               OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS NOT OLD.closed_at)
               OR (OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL AND COALESCE((SELECT balance_after
                   FROM corpbank_leg WHERE account_id = OLD.id ORDER BY seq DESC LIMIT 1), 0) <> 0)
           BEGIN SELECT RAISE(ABORT,
               'corpbank_ledgeraccount: what names an account never changes, and it closes once, empty');
           END;""",
    ],
}


def ensure_sqlite_triggers(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor != "sqlite":
        return
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table, statements in SQLITE_TRIGGERS.items():
            if table in tables:
                for statement in statements:
                    cursor.execute(statement)


def column_date(value: date | str | None) -> date | None:
    """A DATE column read by plain SQL: SQLite hands it back as text, PostgreSQL as a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def column_datetime(value: datetime | str) -> datetime:
    """A DATETIME column read by plain SQL, aware in UTC: SQLite hands it back as naive text."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def from_row(model: type[M], values: Sequence[Any], using: str = "default") -> M:
    """An instance of ``model`` from its concrete fields' values as a plain SELECT returned them (in
    the order of ``_meta.concrete_fields``), converted as the ORM converts them: aware datetimes and
    dates from SQLite's text, JSON from text, booleans from integers. Built with ``Model.from_db``, so
    it is a saved instance as a query gives it. For the reads every request makes, where the ORM's
    compiler costs more CPU than the database (organizations/selectors.active_customer); a test
    compares each such read with the ORM's, field by field, on both databases."""
    names, converters = _reading(model)
    converted = [
        value if convert is None or value is None else convert(value)
        for convert, value in zip(converters, values, strict=True)
    ]
    return model.from_db(using, names, converted)


def columns(*sources: tuple[type[models.Model], str]) -> str:
    """The SELECT list of each (model, table alias)'s concrete columns, in the order ``take_row`` and
    ``select`` read them back."""
    quote = transaction.get_connection().ops.quote_name
    return ", ".join(
        f"{alias}.{quote(field.column)}" for model, alias in sources for field in model._meta.concrete_fields
    )


def select(statement: str, parameters: Sequence[Any], *models_: type[models.Model]) -> list[list[Any]]:
    """Each row of ``statement`` (its SELECT list made by ``columns`` for ``models_``, then any other
    columns) as a list of one instance per model, followed by the row's remaining values."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(statement, parameters)
        rows = cursor.fetchall()
    result = []
    for row in rows:
        values = list(row)
        instances: list[Any] = [take_row(model, values) for model in models_]
        result.append(instances + values)
    return result


def get_row(model: type[M], where: str, parameters: Sequence[Any], *, for_update: bool = False) -> M | None:
    """The first ``model`` (by key) whose row (table alias ``t``) meets ``where``, or None:
    ``Model.objects.filter(…).first()`` without the ORM's compiler, for the reads of every OTP
    verification (issue 13). ``for_update`` locks the row (``FOR UPDATE``) on PostgreSQL; on
    SQLite the IMMEDIATE transaction already holds the database's write lock."""
    connection = transaction.get_connection()
    if for_update and not connection.in_atomic_block:
        raise transaction.TransactionManagementError("get_row(for_update=True) must run in a transaction")
    lock = for_update and connection.vendor != "sqlite"
    rows = select(_get_statement(model, where, lock), parameters, model)
    return rows[0][0] if rows else None


@functools.cache
def _get_statement(model: type[models.Model], where: str, lock: bool) -> str:
    quote = transaction.get_connection().ops.quote_name
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    statement = f"SELECT {columns((model, 't'))} FROM {table} t WHERE {where}"  # noqa: S608 - names
    return statement + f" ORDER BY t.{key} LIMIT 1" + (" FOR UPDATE" if lock else "")


def execute(statement: str, parameters: Sequence[Any]) -> int:
    """Run one data-modifying statement; the number of rows it changed."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(statement, parameters)
        return int(cursor.rowcount)


def take_row(model: type[M], values: list[Any]) -> M:
    """The next ``model`` from the front of ``values``, a joined row's columns in the order of the
    models' ``concrete_fields`` (``values`` loses them): for the reads that join several models."""
    width = len(model._meta.concrete_fields)
    taken, values[:] = values[:width], values[width:]
    return from_row(model, taken)


@functools.cache
def _reading(model: type[models.Model]) -> tuple[list[str], list[Callable[[Any], Any] | None]]:
    """The model's concrete fields' attribute names, and how to convert each column's value (None:
    as the driver gives it), worked out once per model."""
    fields = model._meta.concrete_fields
    return [field.attname for field in fields], [_converter(field) for field in fields]


def _converter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    if isinstance(field, models.DateTimeField):
        return column_datetime
    if isinstance(field, models.DateField):
        return column_date
    if isinstance(field, models.JSONField):
        return lambda value: json.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(field, models.BooleanField):
        return bool
    return None
