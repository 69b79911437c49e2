"""New rows written with an INSERT built once per shape (the hot path of opening a case).

Django compiles an INSERT afresh for every ``save()`` and ``bulk_create()``: quoting each
column, asking each field for its placeholder, assembling the statement. For a case of 42
columns, its clocks, its acknowledgement and its audit event, that was about a third of the
time of opening a case on SQLite (benchmarks/RESULTS.md, "Typed services"). :func:`insert`
builds the statement once per (database, model, row count, conflict handling) in a process
and prepares each value with the field's own ``pre_save`` and ``get_db_prep_save``, as the
ORM does, so what is stored is the same as ``bulk_create`` stores (tested side by side in
tests/core/test_inserts.py).

On PostgreSQL the statement is written with numbered placeholders (``$1``, ``$2``...) and run
on a raw-query cursor of the same connection, wrapped as Django wraps its own (so captured and
counted like any other statement): psycopg converts ``%s`` placeholders afresh for every
statement with more than 50 parameters (a case row has 51; several clocks more), and a raw
query is sent as it is, its parameters bound by the server; run five times on a connection,
it is prepared once (``config/settings.py``, ``AMENDS_PG_PREPARED``).

What it does not do, and refuses instead of doing differently: rows of more than one model,
rows some with and some without a primary key, fields that write SQL of their own (a
``get_placeholder``, a database default or an expression as a value). No signals are sent
(``bulk_create`` sends none either); the rows come back with their primary keys (not for
``ignore``, whose skipped rows have none) and marked as saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from django.db import connections
from django.db.models import Field, Model
from django.db.models.fields import NOT_PROVIDED

__all__ = ["Upsert", "insert", "insert_if", "pipelined"]


@dataclass(frozen=True)
class Upsert:
    """On a clash of ``unique`` (column names), update ``update`` from the new row."""

    unique: tuple[str, ...]
    update: tuple[str, ...]


Conflict = Literal["error", "ignore"] | Upsert

_MISSING = object()
#: Below SQLite's (32,766) and PostgreSQL's (65,535) limits on one statement's parameters.
_MAX_PARAMETERS = 30_000

#: A column whose field stores a value of exactly this type as it is (the ORM's preparation
#: of it returns it unchanged): text for text fields, int for integer fields and keys, bool
#: for booleans. Any other value (and every other field: dates, JSON) goes the ORM's way.
_AS_IS: dict[str, type] = {
    "CharField": str,
    "TextField": str,
    "EmailField": str,
    "SlugField": str,
    "IntegerField": int,
    "SmallIntegerField": int,
    "BigIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "PositiveBigIntegerField": int,
    "BooleanField": bool,
}


@dataclass(frozen=True)
class _Column:
    field: Field[Any, Any]
    attname: str
    #: The type stored as it is, or None (always prepared by the field).
    as_is: type | None
    #: Whether None is stored as NULL as it is (a nullable field of a kind above).
    null_as_is: bool


_SHAPES: dict[tuple[Any, ...], tuple[str, list[_Column], bool]] = {}


def _column(field: Field[Any, Any]) -> _Column:
    kind = field.get_internal_type()
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    if field.is_relation:
        kind = target.get_internal_type()
        if kind in ("AutoField", "BigAutoField", "SmallAutoField"):
            kind = "IntegerField"
    as_is = _AS_IS.get(kind)
    # auto_now / auto_now_add set the value in pre_save: never as it is.
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        as_is = None
    return _Column(field, field.attname, as_is, as_is is not None and field.null)


def _fields(model: type[Model], with_pk: bool) -> list[Field[Any, Any]]:
    """The columns an INSERT of ``model`` writes (refusing fields that write SQL of their own)."""
    fields: list[Field[Any, Any]] = [
        f
        for f in model._meta.concrete_fields
        if not getattr(f, "generated", False) and (with_pk or not f.primary_key)
    ]
    for f in fields:
        own_sql = getattr(f, "db_default", NOT_PROVIDED) is not NOT_PROVIDED
        if own_sql or hasattr(f, "get_placeholder"):
            raise ValueError(f"{model.__name__}.{f.name}: write its rows with the ORM")
    return fields


def _shape(
    vendor: str,
    alias: str,
    model: type[Model],
    count: int,
    with_pk: bool,
    conflict: Conflict,
    keys: bool = True,
) -> tuple[str, list[_Column], bool]:
    key = (alias, model, count, with_pk, conflict, keys)
    found = _SHAPES.get(key)
    if found is not None:
        return found
    opts = model._meta
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = _fields(model, with_pk)
    columns = ", ".join(quote(f.column) for f in fields)
    rows = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * count)
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
    returning = keys and not with_pk and conflict != "ignore"
    if returning:
        tail += f" RETURNING {quote(opts.pk.column)}"
    sql: str = f"{verb} INTO {quote(opts.db_table)} ({columns}) VALUES {rows}{tail}"
    if vendor == "postgresql":
        sql = _Numbered(sql, count * len(fields))
    if count * len(fields) > _MAX_PARAMETERS:
        raise ValueError(f"{count} {model.__name__} rows in one statement: write fewer at a time")
    found = (sql, [_column(f) for f in fields], returning)
    _SHAPES[key] = found
    return found


class _Numbered(str):
    """A statement written with ``%s`` placeholders (what Django logs and captures) that
    carries the same statement with ``$1``, ``$2``... (what PostgreSQL is sent)."""

    numbered: str

    def __new__(cls, sql: str, parameters: int) -> _Numbered:
        made = super().__new__(cls, sql)
        parts = sql.split("%s")
        if len(parts) != parameters + 1 or "%%" in sql:
            raise ValueError("a statement's placeholders must be its parameters, nothing else")
        made.numbered = parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))
        return made


@cache
def _numbered_cursor() -> type:
    import psycopg

    class NumberedCursor(psycopg.RawCursor):
        """Sends a :class:`_Numbered` statement's numbered text, anything else as given."""

        def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
            numbered = getattr(query, "numbered", None)
            if numbered is None:
                return super().execute(query, params, **options)
            # Prepared at once (one plan per connection): an INSERT of a fixed shape.
            return super().execute(numbered, params, prepare=True, **options)

    return NumberedCursor


def _cursor(connection: Any) -> Any:
    """A cursor for a statement as :func:`_shape` wrote it (see the module's docstring)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    # As BaseDatabaseWrapper._cursor makes its own, and wrapped as it wraps them: query
    # capture and logging (which see the ``%s`` text), execute wrappers, Django's errors.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_numbered_cursor()(connection.connection))


def _checked(rows: Sequence[Model]) -> tuple[type[Model], bool]:
    """The rows' model and whether they carry their keys (refusing a mixture)."""
    model = type(rows[0])
    if any(type(r) is not model for r in rows):
        raise ValueError("insert writes rows of one model at a time")
    with_pk = rows[0].pk is not None
    if any((r.pk is not None) is not with_pk for r in rows):
        raise ValueError("insert needs every row with a primary key, or none")
    for obj in rows:
        # As bulk_create does: a related object assigned before it was saved gives its key
        # now, and one still unsaved is refused (ValueError) rather than stored as NULL.
        obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]
    return model, with_pk


def _params(rows: Sequence[Model], columns: list[_Column], connection: Any) -> list[Any]:
    """Each row's values, column by column, as the fields prepare them for the database."""
    params: list[Any] = []
    append = params.append
    for obj in rows:
        values = obj.__dict__
        for column in columns:
            if column.as_is is not None:
                value = values.get(column.attname, _MISSING)
                if type(value) is column.as_is or (value is None and column.null_as_is):
                    append(value)
                    continue
            f = column.field
            value = f.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                raise ValueError(f"{type(obj).__name__}.{f.name}: an expression needs the ORM")
            append(f.get_db_prep_save(value, connection=connection))
    return params


def _saved(rows: Sequence[Model], keys: Sequence[Any], using: str) -> None:
    for obj, key in zip(rows, keys, strict=False):
        obj.pk = key  # an integer key on both databases
    for obj in rows:
        obj._state.adding = False
        obj._state.db = using


def insert(
    rows: Sequence[Model],
    *,
    using: str = "default",
    conflict: Conflict = "error",
    keys: bool = True,
) -> None:
    """Write ``rows`` (instances of one model, not yet saved) in one statement.

    ``keys=False``: the new rows' keys are not read back (they stay None), so that in a
    :func:`pipelined` block the statement is sent without waiting for its answer."""
    if not rows:
        return
    model, with_pk = _checked(rows)
    connection = connections[using]
    sql, columns, returning = _shape(
        connection.vendor, using, model, len(rows), with_pk, conflict, keys
    )
    params = _params(rows, columns, connection)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        made = [key for (key,) in cursor.fetchall()] if returning else []
    _saved(rows, made, using)


_NO_MODIFIER = re.compile(r"\(.*\)")
_GUARDED: dict[tuple[Any, ...], tuple[str, list[_Column]]] = {}


def insert_if(
    guard: str, guard_params: Sequence[Any], rows: Sequence[Model], *, using: str = "default"
) -> tuple[Any, ...] | None:
    """PostgreSQL: in one statement, run ``guard`` (a data-modifying statement with
    ``RETURNING``, written with ``%s`` placeholders, e.g. ``UPDATE ... WHERE ... RETURNING``)
    and write ``rows`` (new, without keys) only if it returned a row.

    Returns the guard's first row, the rows saved with their keys; or None when the guard
    returned nothing, and then nothing was written. (SQLite has no data-modifying ``WITH``:
    run the two statements there.)"""
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise ValueError("insert_if is PostgreSQL's: run the guard, then insert")
    if not rows:
        raise ValueError("insert_if needs rows to insert")
    model, with_pk = _checked(rows)
    if with_pk:
        raise ValueError("insert_if writes new rows, their keys made by the database")
    key = (using, model, len(rows), guard)
    found = _GUARDED.get(key)
    if found is None:
        opts = model._meta
        quote = connection.ops.quote_name
        fields = _fields(model, with_pk=False)
        # A parameter in VALUES under a SELECT takes no type from the column it lands in:
        # each is cast to its column's type (a NULL would otherwise be text).
        # Cast to the type without its length (varchar(100) -> varchar): an explicit cast cuts
        # a longer text where the column's own check refuses it (and a sealed event stored
        # cut would no longer match its seal).
        casts = [
            _NO_MODIFIER.sub("", f.cast_db_type(connection))  # type: ignore[attr-defined]
            for f in fields
        ]
        row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
        pk = quote(opts.pk.column)
        sql = (
            f"WITH guard AS ({guard}), added AS ("
            f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"SELECT * FROM (VALUES {', '.join([row] * len(rows))}) AS v "
            f"WHERE EXISTS (SELECT FROM guard) RETURNING {pk}) "
            f"SELECT guard.*, ARRAY(SELECT {pk} FROM added ORDER BY {pk}) FROM guard"
        )
        found = (_Numbered(sql, sql.count("%s")), [_column(f) for f in fields])
        if len(rows) * len(fields) + len(guard_params) > _MAX_PARAMETERS:
            raise ValueError(f"{len(rows)} {model.__name__} rows in one statement: too many")
        _GUARDED[key] = found
    sql, columns = found
    params = [*guard_params, *_params(rows, columns, connection)]
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchone()
    if returned is None:
        return None
    *first, keys = returned
    _saved(rows, keys, using)
    return tuple(first)


@contextmanager
def pipelined(using: str = "default") -> Iterator[None]:
    """PostgreSQL: the statements of the block are sent one after another without waiting
    for each answer (psycopg's pipeline mode); the answers are read when a result is needed
    (a fetch) and at the block's end. A failed statement fails the ones after it; the error
    is raised as Django's (an ``IntegrityError``, ...) by the block at the latest, and the
    transaction around it rolls back. SQLite: the block runs as it is (no round trips)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield
