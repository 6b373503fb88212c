"""Assignments sent as several files (cases, debtors, co-obligors and guarantors, installments):
each file read with its own part of the layout, its rows linked to the cases file by the part's
key, and the whole written as one portfolio acquisition."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from cases.models import CaseParty, PartyRole
from core.bulk import insert_rows
from imports.acquisition import CASE_FIELDS, AcquisitionImporter, CaseRecord, ResultRow
from imports.fields import FIELDS
from imports.mapping import LayoutError, RowParser
from imports.models import ImportJob, ImportJobFile, ImportKind, Layout, RowOutcome
from imports.readers import Cell, ReadError, Table, open_table

logger = logging.getLogger(__name__)

DEBTOR_FIELDS = (
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
)
INSTALLMENT_FIELDS = ("installment_number", "due_date", "amount", "payment_method")
# What creditors write in a role column, before the layout's own value map.
ROLE_WORDS = {
    "DEBITORE": PartyRole.MAIN,
    "DEBITORE PRINCIPALE": PartyRole.MAIN,
    "INTESTATARIO": PartyRole.MAIN,
    "COOBBLIGATO": PartyRole.CO_OBLIGOR,
    "COINTESTATARIO": PartyRole.CO_OBLIGOR,
    "GARANTE": PartyRole.GUARANTOR,
    "FIDEIUSSORE": PartyRole.GUARANTOR,
}
PART_NAME_LENGTH = ImportJobFile._meta.get_field("part").max_length or 50


class FilesError(Exception):
    """The files given do not make the set the layout reads; the message says why."""


@dataclass(frozen=True)
class Part:
    """One file of a layout that reads an assignment sent as several files."""

    position: int
    name: str
    sheet: str
    key: tuple[str, ...]
    layout: Layout
    role: str

    @property
    def is_installments(self) -> bool:
        return "due_date" in self.layout.columns


@dataclass(frozen=True)
class UploadedFile:
    """A file given for one part of the layout, or the only file of a one-file layout."""

    part: str
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def layout_parts(layout: Layout) -> list[Part]:
    """The layout's files in load order; empty for a layout that reads one file."""
    parts: list[Part] = []
    if layout.files and layout.kind != ImportKind.ACQUISITION:
        raise LayoutError(
            _("The layout “%(layout)s” declares several files: only a portfolio can have them.")
            % {"layout": layout.name}
        )
    names = part_names(layout)
    for position, entry in enumerate(layout.files):
        if not isinstance(entry, dict) or not isinstance(entry.get("columns"), dict):
            raise LayoutError(
                _("The layout “%(layout)s” declares its file %(position)s without columns.")
                % {"layout": layout.name, "position": position + 1}
            )
        name = names[position]
        key = entry.get("key") or ["contract_number"]
        keys = tuple([key] if isinstance(key, str) else key)
        columns = (
            entry["columns"] if not parts else _with_key_widths(entry["columns"], keys, parts[0])
        )
        part = Part(
            position,
            name,
            str(entry.get("sheet") or ""),
            keys,
            Layout(
                slug=layout.slug,
                name=f"{layout.name} — {name}",
                kind=layout.kind,
                columns=columns,
                value_maps=entry.get("value_maps") or {},
            ),
            str(entry.get("role") or PartyRole.MAIN),
        )
        _check_part(layout, part, parts[0] if parts else None)
        parts.append(part)
    return parts


def _with_key_widths(columns: dict[str, Any], keys: tuple[str, ...], cases: Part) -> dict[str, Any]:
    """A later file's columns, its key columns taking the cases file's width when they have
    none: a file saved by Excel with the key as a number lost the zeros the cases file keeps."""
    widened = dict(columns)
    for name in keys:
        column, first = columns.get(name), cases.layout.columns.get(name)
        width = first.get("width") if isinstance(first, dict) else None
        if isinstance(column, dict) and width and not column.get("width"):
            widened[name] = {**column, "width": width}
    return widened


def part_names(layout: Layout) -> list[str]:
    """What each file of the layout is called: its name, else its sheet, else its position."""
    names = []
    for position, entry in enumerate(layout.files, 1):
        name = (entry.get("name") or entry.get("sheet")) if isinstance(entry, dict) else None
        names.append(str(name) if name else str(position))
    return names


def _check_part(layout: Layout, part: Part, cases: Part | None) -> None:
    problem = ""
    needed = ("contract_number", *part.key) if cases is None else part.key
    missing = [name for name in needed if name not in part.layout.columns]
    if missing or (cases is not None and any(k not in cases.layout.columns for k in part.key)):
        problem = _("its key %(key)s must be a column of this file and of the cases file") % {
            "key": ", ".join(part.key)
        }
    elif any(name not in FIELDS[layout.kind] for name in part.key):
        problem = _("its key %(key)s is not a field") % {"key": ", ".join(part.key)}
    elif part.role not in PartyRole.values:
        problem = _("its role “%(role)s” is not one of %(roles)s") % {
            "role": part.role,
            "roles": ", ".join(PartyRole.values),
        }
    if problem:
        raise LayoutError(
            _("The layout “%(layout)s” is not valid: file %(part)s: %(problem)s.")
            % {"layout": layout.name, "part": part.name, "problem": problem}
        )


# Submitting


def set_digest(files: Sequence[UploadedFile]) -> str:
    """The SHA-256 that tells a set of files apart: the file's own for one file, else the
    SHA-256 of the files' digests in the layout's order."""
    if len(files) == 1:
        return files[0].sha256
    return hashlib.sha256("\n".join(f.sha256 for f in files).encode()).hexdigest()


def match_files(layout: Layout, given: Sequence[tuple[str, bytes]]) -> list[UploadedFile]:
    """The files in the layout's order, each named with its part: a file whose name contains a
    part's name (or sheet) is that part; the others take the parts left in the order given."""
    parts = layout_parts(layout)
    if not parts:
        if len(given) != 1:
            raise FilesError(
                _("The layout “%(layout)s” reads one file; %(count)s were given.")
                % {"layout": layout.name, "count": len(given)}
            )
        return [UploadedFile("", *given[0])]
    if len(given) == 1 and is_one_workbook(parts):
        return [UploadedFile(parts[0].name[:PART_NAME_LENGTH], *given[0])]
    chosen: dict[int, tuple[str, bytes]] = {}
    unnamed = []
    for name, data in given:
        part = _part_named(parts, name)
        if part is None:
            unnamed.append((name, data))
        elif part.position in chosen:
            raise FilesError(
                _("The files %(first)s and %(second)s are both the file “%(part)s”: give one.")
                % {"first": chosen[part.position][0], "second": name, "part": part.name}
            )
        else:
            chosen[part.position] = (name, data)
    left = [part for part in parts if part.position not in chosen]
    if len(given) != len(parts):
        raise FilesError(_wrong_count(layout, parts, given, left if chosen else []))
    chosen.update(zip((part.position for part in left), unnamed, strict=True))
    return [UploadedFile(part.name[:PART_NAME_LENGTH], *chosen[part.position]) for part in parts]


def is_one_workbook(parts: list[Part]) -> bool:
    """Every part names a sheet: the set may come as one workbook with a sheet per part."""
    return len(parts) > 1 and all(part.sheet for part in parts)


def _part_named(parts: list[Part], file_name: str) -> Part | None:
    """The part whose name or sheet the file's name contains, the longest such name winning."""
    stem = _plain(PurePath(file_name).stem)
    best: tuple[int, Part | None] = (0, None)
    for part in parts:
        for word in map(_plain, (part.name, part.sheet)):
            if word and word in stem and len(word) > best[0]:
                best = (len(word), part)
    return best[1]


def _plain(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def _wrong_count(
    layout: Layout, parts: list[Part], given: Sequence[tuple[str, bytes]], missing: list[Part]
) -> str:
    message = _(
        "The layout “%(layout)s” reads %(count)s files, in this order: %(parts)s; "
        "%(given)s were given (%(names)s)."
    ) % {
        "layout": layout.name,
        "count": len(parts),
        "parts": ", ".join(part.name for part in parts),
        "given": len(given),
        "names": ", ".join(name for name, _data in given),
    }
    if missing and len(given) < len(parts):
        message += " " + _("Missing: %(parts)s.") % {
            "parts": ", ".join(part.name for part in missing)
        }
    return message


def store_extra_files(job: ImportJob, files: Sequence[UploadedFile]) -> None:
    """Keep the files after the first with the job, unchanged, in the layout's order."""
    for position, upload in enumerate(files[1:], 1):
        extra = ImportJobFile(
            job=job,
            position=position,
            part=upload.part,
            original_name=upload.name[:255],
            size=len(upload.data),
            sha256=upload.sha256,
        )
        extra.file.save(upload.name, ContentFile(upload.data), save=False)
        extra.save()


def stored_files(job: ImportJob) -> list[UploadedFile]:
    """The job's files as they were uploaded, first the job's own, in the layout's order."""
    with job.file.open("rb") as stored:
        files = [UploadedFile("", job.original_name, stored.read())]
    for extra in job.extra_files.order_by("position"):
        with extra.file.open("rb") as stored:
            files.append(UploadedFile(extra.part, extra.original_name, stored.read()))
    return files


# Reading


def read_assignment(job: ImportJob, progress: Callable[[int], None]) -> AssignmentImporter:
    """Read every file of the job, each with its part of the layout, into one importer."""
    parts = layout_parts(job.layout)
    extras = list(job.extra_files.order_by("position"))
    one_workbook = not extras and is_one_workbook(parts)
    if not one_workbook and len(extras) + 1 != len(parts):
        raise ReadError(
            _(
                "The layout “%(layout)s” now reads %(count)s files, not the %(given)s of this "
                "job: upload them again."
            )
            % {"layout": job.layout.name, "count": len(parts), "given": len(extras) + 1}
        )
    sources: list[ImportJob | ImportJobFile] = (
        [job] * len(parts) if one_workbook else [job, *extras]
    )
    table, parser = _open_source(parts[0], sources[0])
    importer = AssignmentImporter(job, parser)
    job.rows_total = 0
    started = time.monotonic()
    for part, source in zip(parts, sources, strict=True):
        if part.position:
            table, parser = _open_source(part, source)
        job.rows_total += table.estimated_rows
        ImportJob.objects.filter(pk=job.pk).update(rows_total=job.rows_total)
        importer.read_part(part, source.original_name, parser, table.rows, progress)
    importer.link_done()
    logger.info(
        "import job %s read %s rows of %s files in %.1fs",
        job.pk,
        importer.rows,
        len(parts),
        time.monotonic() - started,
    )
    return importer


def _open_source(part: Part, source: ImportJob | ImportJobFile) -> tuple[Table, RowParser]:
    with source.file.open("rb") as stored:
        table, parser = _open_part(part, source.original_name, stored.read())
    # A workbook with every part as a sheet keeps the format of its first sheet.
    if part.position == 0 or isinstance(source, ImportJobFile):
        source.detected_format = detected_format(table)
        source.save(update_fields=["detected_format"])
    return table, parser


def _open_part(part: Part, name: str, data: bytes) -> tuple[Table, RowParser]:
    """The file opened and its columns bound; a problem names the file it is in."""
    try:
        expected = [column["header"] for column in part.layout.columns.values()]
        table = open_table(data, name, expected_headers=expected, sheet=part.sheet or None)
        return table, RowParser(part.layout, table.headers)
    except ReadError as exc:
        raise ReadError(_("%(file)s: %(error)s") % {"file": name, "error": exc}) from exc
    except LayoutError as exc:
        raise LayoutError(_("%(file)s: %(error)s") % {"file": name, "error": exc}) from exc


def detected_format(table: Table) -> dict[str, Any]:
    return {
        "kind": table.format.kind,
        "encoding": table.format.encoding,
        "delimiter": table.format.delimiter,
        "sheet": table.format.sheet,
        "header_row": table.format.header_row,
        "headers": table.headers,
    }


def file_row_error(number: int, file_name: str, errors: list[str]) -> str:
    """ "Row 12 of garanti.csv, column Importo: …" for each of a row's errors."""
    return "; ".join(
        _("Row %(row)s of %(file)s, %(error)s") % {"row": number, "file": file_name, "error": e}
        for e in errors
    )


class AssignmentImporter(AcquisitionImporter):
    """A portfolio acquisition whose debtors, parties and installments come in files of their
    own, linked to the cases file by key; a case is written whole, with all its files' rows."""

    def __init__(self, job: ImportJob, parser: RowParser) -> None:
        super().__init__(job, parser)
        self.by_key: dict[tuple[str, ...], dict[tuple[Any, ...], CaseRecord | None]] = {}
        # Where each case's main debtor was read: (file name, row).
        self.main_from: dict[str, tuple[str, int]] = {}
        self.parties: dict[str, list[tuple[str, CaseRecord]]] = {}
        self.cases_file = ""
        self.files = 0
        self.parties_created = 0

    def read_part(
        self,
        part: Part,
        file_name: str,
        parser: RowParser,
        rows: Iterator[tuple[int, list[Cell]]],
        progress: Callable[[int], None],
    ) -> None:
        self.files += 1
        if part.position == 0:
            self.cases_file = file_name
            self.read(rows, progress)
            if any(parser.has(name) for name in ("debtor_name", "debtor_surname", "tax_code")):
                self.main_from = {c: (file_name, r.row) for c, r in self.records.items()}
            return
        index = self._index(part.key)
        for number, cells in rows:
            self.rows += 1
            if self.rows % 5000 == 0:
                progress(self.rows)
            record = self._linked(part, file_name, index, parser, number, cells)
            if record is None:
                continue
            if part.is_installments:
                self._read_installment_row(record, file_name, parser, number, cells)
            else:
                self._read_party_row(part, record, file_name, parser, number, cells)
        progress(self.rows)

    def _index(self, key: tuple[str, ...]) -> dict[tuple[Any, ...], CaseRecord | None]:
        """The cases by the key's values; None marks a key two cases share."""
        if key not in self.by_key:
            index: dict[tuple[Any, ...], CaseRecord | None] = {}
            for record in self.records.values():
                values = tuple(self._key_value(record, name) for name in key)
                if None not in values:
                    index[values] = None if values in index else record
            self.by_key[key] = index
        return self.by_key[key]

    @staticmethod
    def _key_value(record: CaseRecord, name: str) -> Any:
        return record.contract if name == "contract_number" else record.values.get(name)

    def _linked(
        self,
        part: Part,
        file_name: str,
        index: dict[tuple[Any, ...], CaseRecord | None],
        parser: RowParser,
        number: int,
        cells: list[Cell],
    ) -> CaseRecord | None:
        """The case the row belongs to; a row linked to none is an error of its own."""
        values, errors = parser.parse(cells, part.key)
        if errors:
            self._error(number, "", file_row_error(number, file_name, errors))
            return None
        key = tuple(values[name] for name in part.key)
        shown = " ".join(str(value) for value in key if value is not None)
        what = " / ".join(str(FIELDS[self.job.kind][name].label).lower() for name in part.key)
        if None in key:
            message = _("Row %(row)s of %(file)s: no %(what)s links it to a case.")
        elif key not in index:
            message = _(
                "Row %(row)s of %(file)s: %(what)s %(key)s is not in the cases file %(cases)s."
            )
        elif index[key] is None:
            message = _(
                "Row %(row)s of %(file)s: %(what)s %(key)s is on more than one case of the "
                "cases file %(cases)s."
            )
        else:
            return index[key]
        params = {"row": number, "file": file_name, "what": what, "key": shown}
        contract = values.get("contract_number") or ""
        self._error(number, contract, message % {**params, "cases": self.cases_file})
        return None

    def _error(self, number: int, contract: str, message: str) -> None:
        self.results.append(ResultRow(number, RowOutcome.ERROR, contract, message))

    def _read_installment_row(
        self, record: CaseRecord, file_name: str, parser: RowParser, number: int, cells: list[Cell]
    ) -> None:
        values, errors = parser.parse(cells, INSTALLMENT_FIELDS)
        if errors:
            record.errors.append((number, file_row_error(number, file_name, errors)))
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

    def _read_party_row(
        self,
        part: Part,
        record: CaseRecord,
        file_name: str,
        parser: RowParser,
        number: int,
        cells: list[Cell],
    ) -> None:
        warnings: list[str] = []
        parsed, errors = parser.parse(cells, (*DEBTOR_FIELDS, "party_role"), warnings)
        values = dict.fromkeys(CASE_FIELDS) | parsed
        role = self._role(part, parser, values.pop("party_role"), errors)
        if errors:
            record.errors.append((number, file_row_error(number, file_name, errors)))
            return
        if warnings:
            found = file_row_error(number, file_name, warnings)
            record.check_warnings = " ".join(m for m in (record.check_warnings, found) if m)
        if parser.has("debtor_surname") or parser.has("debtor_first_name"):
            names = (values["debtor_name"], values["debtor_surname"], values["debtor_first_name"])
            values["debtor_name"] = " ".join(name for name in names if name)
        if role == PartyRole.MAIN:
            self._set_main(record, file_name, number, values)
            return
        values["debtor_name"] = values["debtor_name"] or f"{record.contract} {role}"
        parties = self.parties.setdefault(record.contract, [])
        pseudo = f"{record.contract}\x1f{role}\x1f{len(parties)}"
        parties.append((role, CaseRecord(number, pseudo, values)))

    def _role(self, part: Part, parser: RowParser, written: str | None, errors: list[str]) -> str:
        if not written:
            return part.role
        binding = parser.bindings["party_role"]
        role = binding.codes.get(written) or ROLE_WORDS.get(written) or written.lower()
        if role not in PartyRole.values:
            errors.append(
                _(
                    "column %(column)s: '%(value)s' is not a known role (%(roles)s); map it in "
                    "the layout"
                )
                % {"column": binding.header, "value": written, "roles": ", ".join(PartyRole.values)}
            )
        return role

    def _set_main(
        self, record: CaseRecord, file_name: str, number: int, values: dict[str, Any]
    ) -> None:
        earlier = self.main_from.get(record.contract)
        if earlier is not None:
            record.errors.append(
                (
                    number,
                    _(
                        "Row %(row)s of %(file)s: contract %(contract)s already has its main "
                        "debtor on row %(first)s of %(first_file)s."
                    )
                    % {
                        "row": number,
                        "file": file_name,
                        "contract": record.contract,
                        "first": earlier[1],
                        "first_file": earlier[0],
                    },
                )
            )
            return
        self.main_from[record.contract] = (file_name, number)
        record.values.update((name, values[name]) for name in DEBTOR_FIELDS)

    def link_done(self) -> None:
        """Every case needs its main debtor: one without is not loaded, and says so."""
        for contract, record in self.records.items():
            if contract not in self.main_from:
                record.errors.append(
                    (
                        record.row,
                        _(
                            "Row %(row)s of %(file)s: contract %(contract)s has no main debtor "
                            "in any of the files."
                        )
                        % {"row": record.row, "file": self.cases_file, "contract": contract},
                    )
                )

    # Writing: the parties ride along with their case's main debtor.

    def _party_records(self, records: list[CaseRecord]) -> list[tuple[str, str, CaseRecord]]:
        return [
            (record.contract, role, party)
            for record in records
            for role, party in self.parties.get(record.contract, [])
        ]

    def _debtors(self, records: list[CaseRecord]) -> tuple[dict[str, int], set[int]]:
        parties = [party for _c, _r, party in self._party_records(records)]
        return super()._debtors([*records, *parties])

    def _parties_addresses_contacts(
        self,
        records: list[CaseRecord],
        case_ids: dict[str, int],
        debtor_ids: dict[str, int],
        debtors_created: set[int],
    ) -> None:
        others = self._party_records(records)
        links: list[tuple[int, int, str]] = [
            (case_ids[r.contract], debtor_ids[r.contract], PartyRole.MAIN) for r in records
        ]
        links += [
            (case_ids[contract], debtor_ids[party.contract], role)
            for contract, role, party in others
        ]
        # The same person twice in one role on a case (a file repeating a guarantor) is one party.
        links = list(dict.fromkeys(links))
        self.parties_created = insert_rows(CaseParty, ("case_id", "debtor_id", "role"), links)
        people = [*records, *(party for _c, _r, party in others)]
        self._addresses_contacts(people, debtor_ids, debtors_created)

    def apply(self) -> None:
        super().apply()
        self.counts["files"] = self.files
        self.counts["parties_created"] = self.parties_created
