"""New rows written with an INSERT built once per shape (the hot path of opening a case).

Django compiles an INSERT afresh for every ``save()`` and ``bulk_create()``: quoting each
column, asking each field for its placeholder, assembling the statement. For a case of 42
columns, its clocks, its acknowledgement and its audit event, that was about a third of the
time of opening a case on SQLite (benchmarks/RESULTS.md, "Typed services"). :func:`insert`
builds the statement once per (database, model, row count, conflict handling) in a process
and prepares each value with the field's own ``pre_save`` and ``get_db_prep_save``, as the
ORM does, so what is stored is the same as ``bulk_create`` stores (tested side by side in
tests/core/test_inserts.py).

What it does not do, and refuses instead of doing differently: rows of more than one model,
rows some with and some without a primary key, fields that write SQL of their own (a
``get_placeholder``, a database default or an expression as a value). No signals are sent
(``bulk_create`` sends none either); the rows come back with their primary keys (not for
``ignore``, whose skipped rows have none) and marked as saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db import connections
from django.db.models import Field, Model
from django.db.models.fields import NOT_PROVIDED

__all__ = ["Upsert", "insert"]


@dataclass(frozen=True)
class Upsert:
    """On a clash of ``unique`` (column names), update ``update`` from the new row."""

    unique: tuple[str, ...]
    update: tuple[str, ...]


Conflict = Literal["error", "ignore"] | Upsert

_SHAPES: dict[tuple[Any, ...], tuple[str, list[Field[Any, Any]], bool]] = {}


def _shape(
    vendor: str, alias: str, model: type[Model], count: int, with_pk: bool, conflict: Conflict
) -> tuple[str, list[Field[Any, Any]], bool]:
    key = (alias, model, count, with_pk, conflict)
    found = _SHAPES.get(key)
    if found is not None:
        return found
    opts = model._meta
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields: list[Field[Any, Any]] = [
        f
        for f in opts.concrete_fields
        if not getattr(f, "generated", False) and (with_pk or not f.primary_key)
    ]
    for f in fields:
        own_sql = getattr(f, "db_default", NOT_PROVIDED) is not NOT_PROVIDED
        if own_sql or hasattr(f, "get_placeholder"):
            raise ValueError(f"{model.__name__}.{f.name}: write its rows with the ORM")
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    verb = "INSERT"
    tail = ""
    if conflict == "ignore":
        if vendor == "sqlite":
            verb = "INSERT OR IGNORE"
        else:
            tail = " ON CONFLICT DO NOTHING"
    elif isinstance(conflict, Upsert):
        by_name = {f.name: f for f in opts.concrete_fields}
        unique = ", ".join(quote(by_name[n].column) for n in conflict.unique)
        sets = ", ".join(
            f"{quote(by_name[n].column)} = EXCLUDED.{quote(by_name[n].column)}"
            for n in conflict.update
        )
        tail = f" ON CONFLICT({unique}) DO UPDATE SET {sets}"
    returning = not with_pk and conflict != "ignore"
    if returning:
        tail += f" RETURNING {quote(opts.pk.column)}"
    sql = (
        f"{verb} INTO {quote(opts.db_table)} ({columns}) VALUES " + ", ".join([row] * count) + tail
    )
    found = (sql, fields, returning)
    _SHAPES[key] = found
    return found


def insert(rows: Sequence[Model], *, using: str = "default", conflict: Conflict = "error") -> None:
    """Write ``rows`` (instances of one model, not yet saved) in one statement."""
    if not rows:
        return
    model = type(rows[0])
    if any(type(r) is not model for r in rows):
        raise ValueError("insert writes rows of one model at a time")
    with_pk = rows[0].pk is not None
    if any((r.pk is not None) is not with_pk for r in rows):
        raise ValueError("insert needs every row with a primary key, or none")
    connection = connections[using]
    sql, fields, returning = _shape(connection.vendor, using, model, len(rows), with_pk, conflict)
    params: list[Any] = []
    for obj in rows:
        for f in fields:
            value = f.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                raise ValueError(f"{model.__name__}.{f.name}: an expression needs the ORM")
            params.append(f.get_db_prep_save(value, connection=connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall() if returning else []
    for obj, key in zip(rows, keys, strict=False):
        obj.pk = key[0]  # an integer key on both databases
    for obj in rows:
        obj._state.adding = False
        obj._state.db = using
