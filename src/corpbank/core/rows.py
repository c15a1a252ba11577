"""Model instances from the columns of a plain SQL statement, for the few reads that run on every
login or request (the login lookup, the session's user): what the ORM would build, without compiling a
query each time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class Part:
    """One model's columns in the login query, with the backend's converters of each (what the ORM
    applies to a column: time zones on SQLite, for instance)."""

    model: type[Model]
    names: list[str]
    converters: list[tuple[Any, list[Converter]]]
    columns: slice  # where they are in a row

    def instance(self, row: Sequence[Any]) -> Model:
        converted = []
        for value, (column, converters) in zip(row[self.columns], self.converters, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.names, converted)


def parts(models: list[tuple[type[Model], str]]) -> tuple[list[str], list[Part]]:
    """The selected columns of ``models`` (each under its alias), and how to make instances of them."""
    parts: list[Part] = []
    selected: list[str] = []
    for model, alias in models:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(alias)
            converters.append(
                (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
            )
        columns = slice(len(selected), len(selected) + len(fields))
        parts.append(Part(model, [field.attname for field in fields], converters, columns))
        selected += [f'{alias}."{field.column}"' for field in fields]
    return selected, parts


def tables(models: list[tuple[type[Model], str]]) -> dict[str, str]:
    return {alias: model._meta.db_table for model, alias in models}
