"""Portfolio acquisition (affido): a creditor file becomes a batch of cases with their
debtors, addresses, contacts and installments, written set-wise in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    ZERO,
    Address,
    Case,
    CaseParty,
    CaseState,
    Contact,
    ContactKind,
    Debtor,
    DebtorKind,
    Installment,
    InstallmentStatus,
    PartyRole,
)
from core.bulk import in_chunks, insert_rows, refresh_statistics
from creditors.models import Batch
from imports.checks import check_email, check_iban, check_phone
from imports.mapping import RowParser, row_error
from imports.models import ImportJob, ImportRow, RowOutcome
from imports.parsers import FieldError
from imports.readers import Cell
from imports.reports import euro

logger = logging.getLogger(__name__)

CASE_FIELDS = (
    "batch_code",
    "creditor_reference",
    "original_creditor",
    "debtor_name",
    "debtor_surname",
    "debtor_first_name",
    "tax_code",
    "birth_date",
    "street",
    "postcode",
    "city",
    "province",
    "phone",
    "mobile",
    "email",
    "iban",
    "product",
    "principal",
    "interest",
    "charges",
    "total",
    "acceleration_date",
    "last_payment_date",
)
INSTALLMENT_FIELDS = ("installment_number", "due_date", "amount", "payment_method")

InstallmentRow = tuple[int, int | None, date, Decimal, str]
BATCH_CODE_LENGTH = Batch._meta.get_field("code").max_length or 50


def comparable_contact(kind: str, value: str) -> str:
    """A stored contact in the form the checks give a file's contact, when it has one."""
    checks = {ContactKind.EMAIL: check_email, ContactKind.IBAN: check_iban}
    check = checks.get(ContactKind(kind), check_phone)
    try:
        return check(value)
    except FieldError:
        return value


def batch_code_from_file_name(name: str) -> str:
    """The batch of a file whose layout has no batch column: its name without extension."""
    return PurePath(name).stem.strip()[:BATCH_CODE_LENGTH] or name[:BATCH_CODE_LENGTH]


@dataclass(slots=True)
class CaseRecord:
    """One case as read from the file, before it is written."""

    row: int
    contract: str
    values: dict[str, Any]
    installments: list[InstallmentRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    warning: str = ""
    # Failed checks the layout only warns about: the values are kept as read.
    check_warnings: str = ""


@dataclass
class ResultRow:
    number: int
    outcome: str
    contract: str
    message: str = ""
    case_id: int | None = None


class AcquisitionImporter:
    """Reads a portfolio file into memory, then writes it in one transaction."""

    def __init__(self, job: ImportJob, parser: RowParser) -> None:
        self.job = job
        self.parser = parser
        self.records: dict[str, CaseRecord] = {}
        self.results: list[ResultRow] = []
        self.rows = 0
        self.counts: dict[str, Any] = {}
        self.file_batch_code = (
            None if parser.has("batch_code") else batch_code_from_file_name(job.original_name)
        )
        self.names_in_parts = not parser.has("debtor_name") and (
            parser.has("debtor_surname") or parser.has("debtor_first_name")
        )

    def read(self, rows: Iterator[tuple[int, list[Cell]]], progress: Callable[[int], None]) -> None:
        with_installments = self.parser.has("due_date")
        for number, cells in rows:
            self.rows += 1
            if self.rows % 5000 == 0:
                progress(self.rows)
            values, errors = self.parser.parse(cells, ("contract_number",))
            if errors:
                self.results.append(
                    ResultRow(number, RowOutcome.ERROR, "", row_error(number, errors))
                )
                continue
            contract = values["contract_number"]
            record = self.records.get(contract)
            if record is None:
                # Case fields repeat on every installment row; the first row of a case sets them.
                warnings: list[str] = []
                case_values, errors = self.parser.parse(cells, CASE_FIELDS, warnings)
                self._complete(case_values)
                record = self.records[contract] = CaseRecord(number, contract, case_values)
                if warnings:
                    record.check_warnings = row_error(number, warnings)
                if errors:
                    record.errors.append((number, row_error(number, errors)))
            if with_installments:
                self._read_installment(record, number, cells)
        progress(self.rows)

    def _complete(self, values: dict[str, Any]) -> None:
        """Fill the batch and the debtor's name when the layout gives them another way."""
        if self.file_batch_code is not None:
            values["batch_code"] = self.file_batch_code
        if self.names_in_parts:
            parts = (values["debtor_surname"], values["debtor_first_name"])
            values["debtor_name"] = " ".join(part for part in parts if part)

    def _read_installment(self, record: CaseRecord, number: int, cells: list[Cell]) -> None:
        values, errors = self.parser.parse(cells, INSTALLMENT_FIELDS)
        if errors:
            record.errors.append((number, row_error(number, errors)))
            return
        record.installments.append(
            (
                number,
                values["installment_number"],
                values["due_date"],
                values["amount"],
                values["payment_method"],
            )
        )

    def apply(self) -> None:
        """Write batches, debtors, cases and the rest; a preview rolls it all back."""
        valid = self._valid_records()
        with transaction.atomic():
            batches = self._batches(valid)
            earlier = self._open_cases([r.contract for r in valid])
            to_create = self._classify(valid, batches, earlier)
            self._settle_amounts(to_create)
            debtor_ids, debtors_created = self._debtors(to_create)
            case_ids = self._cases(to_create, batches, earlier, debtor_ids)
            self._parties_addresses_contacts(to_create, case_ids, debtor_ids, debtors_created)
            installments = self._installments(to_create, case_ids)
            refresh_statistics(Case, Installment, Debtor)
            if self.job.dry_run:
                transaction.set_rollback(True)
            else:
                self._write_results()
        if self.job.dry_run:
            for result in self.results:
                result.case_id = None
            self._write_results()
        self.counts = {
            "rows": self.rows,
            "cases_created": sum(r.outcome == RowOutcome.CREATED for r in self.results),
            "cases_reassigned": sum(r.outcome == RowOutcome.REASSIGNED for r in self.results),
            "already_present": sum(r.outcome == RowOutcome.ALREADY_PRESENT for r in self.results),
            "debtors_created": len(debtors_created),
            "installments_created": installments,
            "errors": sum(r.outcome == RowOutcome.ERROR for r in self.results),
            "warnings": sum(bool(r.check_warnings) for r in to_create),
        }
        self.counts["cases_created"] += self.counts["cases_reassigned"]

    def _valid_records(self) -> list[CaseRecord]:
        valid = []
        for record in self.records.values():
            self._check_installment_numbers(record)
            if not record.errors:
                valid.append(record)
                continue
            # A case is written whole or not at all, so a bad row never leaves a case half-read.
            rows = ", ".join(str(n) for n, _m in record.errors)
            for number, message in record.errors:
                self.results.append(ResultRow(number, RowOutcome.ERROR, record.contract, message))
            self.results.append(
                ResultRow(
                    record.row,
                    RowOutcome.ERROR,
                    record.contract,
                    _("Contract %(contract)s not loaded: fix row(s) %(rows)s and load it again.")
                    % {"contract": record.contract, "rows": rows},
                )
            )
        return valid

    def _check_installment_numbers(self, record: CaseRecord) -> None:
        seen: dict[int, int] = {}
        numbered: list[InstallmentRow] = []
        for position, (row, number, due, amount, method) in enumerate(record.installments, 1):
            number = number if number is not None else position
            if number in seen:
                record.errors.append(
                    (
                        row,
                        _(
                            "Row %(row)s: installment %(number)s of contract %(contract)s is "
                            "already on row %(first)s"
                        )
                        % {
                            "row": row,
                            "number": number,
                            "contract": record.contract,
                            "first": seen[number],
                        },
                    )
                )
            seen[number] = row
            numbered.append((row, number, due, amount, method))
        record.installments = numbered

    def _batches(self, valid: list[CaseRecord]) -> dict[str, Batch]:
        creditor = self.job.creditor
        codes = {r.values["batch_code"] for r in valid}
        batches = {b.code: b for b in Batch.objects.filter(creditor=creditor, code__in=codes)}
        today = timezone.localdate()
        for code in sorted(codes - batches.keys()):
            batches[code] = Batch.objects.create(
                creditor=creditor, code=code, assigned_on=today, created_job=self.job
            )
        return batches

    def _open_cases(self, contracts: list[str]) -> dict[str, tuple[int, int]]:
        """The creditor's most recent open case per contract: (case id, batch id)."""
        found: dict[str, tuple[int, int]] = {}
        for chunk in in_chunks(contracts):
            latest = (
                Case.objects.filter(
                    creditor=self.job.creditor, state=CaseState.OPEN, contract_number__in=chunk
                )
                .values("contract_number")
                .annotate(latest=Max("id"))
            )
            ids = [row["latest"] for row in latest]
            for case in Case.objects.filter(pk__in=ids).values("id", "contract_number", "batch_id"):
                found[case["contract_number"]] = (case["id"], case["batch_id"])
        return found

    def _classify(
        self,
        valid: list[CaseRecord],
        batches: dict[str, Batch],
        earlier: dict[str, tuple[int, int]],
    ) -> list[CaseRecord]:
        to_create = []
        for record in valid:
            batch = batches[record.values["batch_code"]]
            previous = earlier.get(record.contract)
            if previous and previous[1] == batch.pk:
                self.results.append(
                    ResultRow(
                        record.row,
                        RowOutcome.ALREADY_PRESENT,
                        record.contract,
                        _("Contract already present in batch %(batch)s: nothing created.")
                        % {"batch": batch.code},
                        previous[0],
                    )
                )
                continue
            to_create.append(record)
        return to_create

    def _settle_amounts(self, records: list[CaseRecord]) -> None:
        """Amounts assigned: absent ones are zero, the principal of a file without a principal
        column is the sum of its installments, and a missing total is the sum of the parts.

        A total that differs from the sum is kept as the creditor gave it, with a warning.
        """
        principal_in_file = self.parser.has("principal")
        for record in records:
            v = record.values
            if not principal_in_file:
                v["principal"] = sum((i[3] for i in record.installments), ZERO)
            parts = (v["principal"] or ZERO) + (v["interest"] or ZERO) + (v["charges"] or ZERO)
            if v["total"] is None:
                v["total"] = parts
            elif v["total"] != parts:
                record.warning = _(
                    "Total %(total)s differs from principal+interest+fees %(parts)s: the "
                    "creditor's total is kept."
                ) % {"total": euro(v["total"]), "parts": euro(parts)}

    def _debtors(self, records: list[CaseRecord]) -> tuple[dict[str, int], set[int]]:
        """Debtor id per contract, merging by tax code across the agency."""
        # TODO: a debtor already known keeps its name and birth date even when a file gives a
        # birth date it lacks; filling it in needs the change recorded on the job to be undone.
        tax_codes = {r.values["tax_code"] for r in records if r.values["tax_code"]}
        by_tax_code: dict[str, int] = {}
        for chunk in in_chunks(tax_codes):
            existing = Debtor.objects.filter(tax_code__in=chunk).values_list("tax_code", "id")
            by_tax_code.update((code or "", pk) for code, pk in existing)
        new: dict[str, CaseRecord] = {}
        for record in records:
            key = record.values["tax_code"] or f"#{record.contract}"
            if key not in by_tax_code:
                new.setdefault(key, record)
        self._create_debtors(new)
        created = dict(
            Debtor.objects.filter(created_job=self.job).values_list("tax_code", "id").order_by()
        )
        untaxed = Debtor.objects.filter(created_job=self.job, tax_code__isnull=True).order_by("id")
        # Debtors without a tax code are inserted in the order of `new`, so ids follow it.
        keys_without_code = [key for key in new if key.startswith("#")]
        by_tax_code.update({k: v for k, v in created.items() if k})
        by_tax_code.update(
            zip(keys_without_code, untaxed.values_list("id", flat=True), strict=True)
        )
        debtor_ids = {
            r.contract: by_tax_code[r.values["tax_code"] or f"#{r.contract}"] for r in records
        }
        return debtor_ids, {by_tax_code[key] for key in new}

    def _create_debtors(self, new: dict[str, CaseRecord]) -> None:
        insert_rows(
            Debtor,
            ("tax_code", "name", "kind", "birth_date", "created_job_id"),
            (
                (
                    r.values["tax_code"] or None,
                    r.values["debtor_name"] or r.contract,
                    DebtorKind.COMPANY if key.isdigit() else DebtorKind.PERSON,
                    r.values["birth_date"],
                    self.job.pk,
                )
                for key, r in new.items()
            ),
        )

    def _cases(
        self,
        records: list[CaseRecord],
        batches: dict[str, Batch],
        earlier: dict[str, tuple[int, int]],
        debtor_ids: dict[str, int],
    ) -> dict[str, int]:
        now = timezone.now()
        insert_rows(
            Case,
            (
                "creditor_id",
                "batch_id",
                "contract_number",
                "creditor_reference",
                "original_creditor",
                "product",
                "principal",
                "interest",
                "charges",
                "assigned_total",
                "other_charges",
                "acceleration_date",
                "last_payment_date",
                "state",
                "needs_attention",
                "previous_id",
                "created_job_id",
                "created_at",
            ),
            (
                (
                    self.job.creditor_id,
                    batches[r.values["batch_code"]].pk,
                    r.contract,
                    r.values["creditor_reference"] or "",
                    r.values["original_creditor"] or "",
                    r.values["product"] or "",
                    r.values["principal"] or ZERO,
                    r.values["interest"] or ZERO,
                    r.values["charges"] or ZERO,
                    r.values["total"],
                    ZERO,
                    r.values["acceleration_date"],
                    r.values["last_payment_date"],
                    CaseState.OPEN,
                    False,
                    earlier[r.contract][0] if r.contract in earlier else None,
                    self.job.pk,
                    now,
                )
                for r in records
            ),
        )
        case_ids = dict(
            Case.objects.filter(created_job=self.job)
            .values_list("contract_number", "id")
            .order_by()
        )
        for record in records:
            outcome = RowOutcome.REASSIGNED if record.contract in earlier else RowOutcome.CREATED
            message = " ".join(m for m in (record.warning, record.check_warnings) if m)
            self.results.append(
                ResultRow(record.row, outcome, record.contract, message, case_ids[record.contract])
            )
        return case_ids

    def _parties_addresses_contacts(
        self,
        records: list[CaseRecord],
        case_ids: dict[str, int],
        debtor_ids: dict[str, int],
        debtors_created: set[int],
    ) -> None:
        insert_rows(
            CaseParty,
            ("case_id", "debtor_id", "role"),
            ((case_ids[r.contract], debtor_ids[r.contract], PartyRole.MAIN) for r in records),
        )
        self._addresses_contacts(records, debtor_ids, debtors_created)

    def _addresses_contacts(
        self, records: list[CaseRecord], debtor_ids: dict[str, int], debtors_created: set[int]
    ) -> None:
        """The records' addresses and contacts their debtors do not have yet."""
        job_id = self.job.pk
        known_debtors = set(debtor_ids.values()) - debtors_created
        addresses, contacts = self._known_addresses_contacts(known_debtors)
        new_addresses, new_contacts = [], []
        for record in records:
            debtor_id, v = debtor_ids[record.contract], record.values
            if v["street"] and (debtor_id, v["street"], v["postcode"] or "") not in addresses:
                addresses.add((debtor_id, v["street"], v["postcode"] or ""))
                new_addresses.append(
                    (
                        debtor_id,
                        v["street"],
                        v["postcode"] or "",
                        v["city"] or "",
                        (v["province"] or "")[:2],
                        "creditor",
                        job_id,
                    )
                )
            for kind, name in (
                (ContactKind.PHONE, "phone"),
                (ContactKind.MOBILE, "mobile"),
                (ContactKind.EMAIL, "email"),
                (ContactKind.IBAN, "iban"),
            ):
                value = v[name]
                if value and (debtor_id, kind, value) not in contacts:
                    contacts.add((debtor_id, kind, value))
                    new_contacts.append((debtor_id, kind, value, "creditor", job_id))
        insert_rows(
            Address,
            ("debtor_id", "street", "postcode", "city", "province", "source", "created_job_id"),
            new_addresses,
        )
        insert_rows(
            Contact, ("debtor_id", "kind", "value", "source", "created_job_id"), new_contacts
        )

    def _known_addresses_contacts(
        self, debtor_ids: set[int]
    ) -> tuple[set[tuple[int, str, str]], set[tuple[int, str, str]]]:
        addresses: set[tuple[int, str, str]] = set()
        contacts: set[tuple[int, str, str]] = set()
        for chunk in in_chunks(debtor_ids):
            addresses.update(
                Address.objects.filter(debtor_id__in=chunk).values_list(
                    "debtor_id", "street", "postcode"
                )
            )
            known = Contact.objects.filter(debtor_id__in=chunk).values_list(
                "debtor_id", "kind", "value"
            )
            for debtor_id, kind, value in known:
                contacts.add((debtor_id, kind, value))
                # Contacts saved before the checks normalised them still match the file's.
                contacts.add((debtor_id, kind, comparable_contact(kind, value)))
        return addresses, contacts

    def _installments(self, records: list[CaseRecord], case_ids: dict[str, int]) -> int:
        job_id = self.job.pk
        return insert_rows(
            Installment,
            (
                "case_id",
                "number",
                "due_date",
                "amount",
                "payment_method",
                "status",
                "fees",
                "paid_amount",
                "created_job_id",
            ),
            (
                (
                    case_ids[r.contract],
                    number,
                    due,
                    amount,
                    method,
                    InstallmentStatus.DUE,
                    ZERO,
                    ZERO,
                    job_id,
                )
                for r in records
                for (_row, number, due, amount, method) in r.installments
            ),
        )

    def _write_results(self) -> None:
        job_id = self.job.pk
        insert_rows(
            ImportRow,
            (
                "job_id",
                "number",
                "outcome",
                "contract_number",
                "message",
                "case_id",
                "payment_method",
                "previous_status",
            ),
            (
                (job_id, r.number, r.outcome, r.contract, r.message, r.case_id, "", "")
                for r in sorted(self.results, key=lambda r: r.number)
            ),
        )
