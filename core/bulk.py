"""Bulk writes for the import paths, where building model instances would cost more than the
insert itself."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.db import connection, models

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_size: int = 5000,
) -> int:
    """Insert plain tuples into the model's table; returns the number of rows inserted."""
    opts = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(opts.get_field(name).column) for name in fields)  # type: ignore[union-attr]
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    inserted = 0
    with connection.cursor() as cursor:
        for chunk in chunked(rows, batch_size):
            cursor.executemany(sql, chunk)
            inserted += len(chunk)
    return inserted


def in_chunks(values: Iterable[T], size: int = 2000) -> Iterator[list[T]]:
    """Split values for `field__in` lookups, which databases limit in parameters."""
    return chunked(values, size)
