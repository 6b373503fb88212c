"""The tables an import writes, dumped as sets of tuples, to compare the database at two moments.

`exact_snapshot` keeps every column, ids included: rows that existed before a job keep their
ids, so it shows that an undo left the database as it was. `natural_snapshot` names rows by
what they are (contract, batch, tax code) and only says whether a job wrote them, so two runs
of one file on the same data can be compared whatever ids they were given.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from cases.models import Address, Case, CaseParty, Contact, Debtor, Installment, Note
from creditors.models import Batch

Snapshot = dict[str, set[tuple[Any, ...]]]

EXACT_MODELS: tuple[type[models.Model], ...] = (
    Batch,
    Debtor,
    Case,
    CaseParty,
    Address,
    Contact,
    Installment,
    Note,
)
# Per table: the columns compared; a "…_job_id" column only counts as set or not.
NATURAL_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Batch: ("creditor__code", "code", "assigned_on", "state", "created_job_id"),
    Debtor: ("tax_code", "name", "kind", "birth_date", "created_job_id"),
    Case: (
        "creditor__code",
        "batch__code",
        "contract_number",
        "product",
        "principal",
        "interest",
        "charges",
        "other_charges",
        "state",
        "needs_attention",
        "previous__batch__code",
        "created_job_id",
    ),
    CaseParty: ("case__batch__code", "case__contract_number", "debtor__tax_code", "role"),
    Address: ("debtor__tax_code", "street", "postcode", "city", "province", "source"),
    Contact: ("debtor__tax_code", "kind", "value", "source", "created_job_id"),
    Installment: (
        "case__batch__code",
        "case__contract_number",
        "number",
        "due_date",
        "amount",
        "payment_method",
        "status",
        "fees",
        "unpaid_on",
        "unpaid_job_id",
        "created_job_id",
    ),
    Note: ("case__batch__code", "case__contract_number", "kind", "text", "row_number", "job_id"),
}


def exact_snapshot() -> Snapshot:
    """Every row of every table an import writes, with all its columns."""
    return {
        model._meta.label: set(
            model.objects.values_list(*(f.attname for f in model._meta.concrete_fields))
        )
        for model in EXACT_MODELS
    }


def natural_snapshot() -> Snapshot:
    """Every row of every table an import writes, by natural key, without ids."""
    snapshot = {}
    for model, fields in NATURAL_FIELDS.items():
        jobs = [i for i, name in enumerate(fields) if name.endswith("job_id")]
        snapshot[model._meta.label] = {
            tuple(value is not None if i in jobs else value for i, value in enumerate(row))
            for row in model.objects.values_list(*fields)
        }
    return snapshot


def installment_states() -> set[tuple[Any, ...]]:
    """(contract, installment number, status, fees) of every installment."""
    return set(Installment.objects.values_list("case__contract_number", "number", "status", "fees"))
