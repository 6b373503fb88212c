"""Example creditor files with exactly known import outcomes.

Builds a Compass-style portfolio file ("affido") and a matching file of unpaid
installments ("insoluti") for demo data, tests and benchmarks. Every person is
fictitious and every value is a pure function of the seed, so the same call
always produces the same bytes.

This module deliberately does not import Django: scripts and benchmarks use it
without configured settings.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import IO, TypeAlias

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from stdnum.it.codicefiscale import calc_check_digit

# Where a writer puts its file: a filesystem path, or a binary stream that is left open.
OutputTarget: TypeAlias = str | os.PathLike[str] | IO[bytes]

CSV_ENCODING = "cp1252"

AFFIDO_HEADER = (
    "LOTTO",
    "NUM_PRATICA",
    "COGNOME_NOME",
    "COD_FISCALE",
    "INDIRIZZO",
    "CAP",
    "COMUNE",
    "PROVINCIA",
    "TELEFONO",
    "CELLULARE",
    "EMAIL",
    "PRODOTTO",
    "NUM_RATA",
    "DATA_SCADENZA",
    "IMPORTO_RATA",
    "MOD_PAGAMENTO",
)

INSOLUTI_HEADER = (
    "COD_AGENZIA",
    "NUM_PRATICA",
    "NOMINATIVO",
    "COD_FISCALE",
    "NUM_RATA",
    "DATA_SCADENZA",
    "IMPORTO_RATA",
    "MOD_PAGAMENTO",
    "DATA_INSOLUTO",
    "SPESE_PROTESTO",
)

PRODUCTS = (
    "PRESTITO PERSONALE",
    "PRESTITO FINALIZZATO",
    "CARTA REVOLVING",
    "CESSIONE DEL QUINTO",
)

PAYMENT_METHODS = ("SDD", "BOL", "BON")

PROTEST_FEES = (Decimal("0.00"), Decimal("5.16"), Decimal("7.50"), Decimal("12.00"))

# Share of cases whose debtor already holds an earlier contract in the same portfolio.
SHARED_DEBTOR_RATE = 0.03

MIN_INSTALLMENT_CENTS = 5_000
MAX_INSTALLMENT_CENTS = 150_000

# Contract numbers are written with ten digits; anything longer would not fit the column.
MAX_CONTRACT_NUMBER = 9_999_999_999


@dataclass(frozen=True)
class Comune:
    name: str
    postcode: str
    province: str
    cadastral_code: str  # Belfiore code, as used in the codice fiscale
    area_code: str  # landline prefix


# Real comuni with their real postcode, province and cadastral code. The postcodes
# starting with 0 are there on purpose: they break any importer that reads CAP as a number.
COMUNI = (
    Comune("ROMA", "00184", "RM", "H501", "06"),
    Comune("MILANO", "20121", "MI", "F205", "02"),
    Comune("NAPOLI", "80133", "NA", "F839", "081"),
    Comune("TORINO", "10121", "TO", "L219", "011"),
    Comune("PALERMO", "90133", "PA", "G273", "091"),
    Comune("GENOVA", "16121", "GE", "D969", "010"),
    Comune("BOLOGNA", "40121", "BO", "A944", "051"),
    Comune("FIRENZE", "50122", "FI", "D612", "055"),
    Comune("BARI", "70121", "BA", "A662", "080"),
    Comune("CATANIA", "95121", "CT", "C351", "095"),
    Comune("VENEZIA", "30124", "VE", "L736", "041"),
    Comune("VERONA", "37121", "VR", "L781", "045"),
    Comune("PADOVA", "35121", "PD", "G224", "049"),
    Comune("TRIESTE", "34121", "TS", "L424", "040"),
    Comune("BRESCIA", "25121", "BS", "B157", "030"),
    Comune("CAGLIARI", "09124", "CA", "B354", "070"),
    Comune("SASSARI", "07100", "SS", "I452", "079"),
    Comune("NUORO", "08100", "NU", "F979", "0784"),
    Comune("LATINA", "04100", "LT", "E472", "0773"),
    Comune("FROSINONE", "03100", "FR", "D810", "0775"),
    Comune("TORRICE", "03020", "FR", "L290", "0775"),
    Comune("VITERBO", "01100", "VT", "M082", "0761"),
    Comune("RIETI", "02100", "RI", "H282", "0746"),
    Comune("TERNI", "05100", "TR", "L117", "0744"),
    Comune("PERUGIA", "06121", "PG", "G478", "075"),
    Comune("L'AQUILA", "67100", "AQ", "A345", "0862"),
    Comune("PESCARA", "65121", "PE", "G482", "085"),
    Comune("ANCONA", "60121", "AN", "A271", "071"),
    Comune("FORLÌ", "47121", "FC", "D704", "0543"),
    Comune("CANTÙ", "22063", "CO", "B639", "031"),
    Comune("SALERNO", "84121", "SA", "H703", "089"),
    Comune("LECCE", "73100", "LE", "E506", "0832"),
    Comune("POTENZA", "85100", "PZ", "G942", "0971"),
    Comune("CATANZARO", "88100", "CZ", "C352", "0961"),
    Comune("TRENTO", "38121", "TN", "L378", "0461"),
    Comune("AOSTA", "11100", "AO", "A326", "0165"),
    Comune("CAMPOBASSO", "86100", "CB", "B519", "0874"),
)

# Accents, apostrophes and spaces are deliberate: they exercise Windows-1252 and the
# tax-code rules that skip anything that is not a plain letter.
SURNAMES = (
    "ROSSI",
    "RUSSO",
    "FERRARI",
    "ESPOSITO",
    "BIANCHI",
    "ROMANO",
    "COLOMBO",
    "RICCI",
    "MARINO",
    "GRECO",
    "BRUNO",
    "GALLO",
    "CONTI",
    "DE LUCA",
    "MANCINI",
    "COSTA",
    "GIORDANO",
    "RIZZO",
    "LOMBARDI",
    "MORETTI",
    "BARBIERI",
    "FONTANA",
    "SANTORO",
    "MARIANI",
    "RINALDI",
    "CARUSO",
    "FERRARA",
    "GALLI",
    "MARTINI",
    "LEONE",
    "LONGO",
    "GENTILE",
    "VITALE",
    "D'ANGELO",
    "DELL'ORTO",
    "DI STEFANO",
    "LO BIANCO",
    "FORTÌ",
    "CANTÙ",
    "NICOLÒ",
)

MALE_NAMES = (
    "MARIO",
    "GIUSEPPE",
    "GIOVANNI",
    "ANTONIO",
    "LUIGI",
    "FRANCESCO",
    "ALESSANDRO",
    "ANDREA",
    "MARCO",
    "LUCA",
    "MATTEO",
    "LORENZO",
    "STEFANO",
    "PAOLO",
    "ROBERTO",
    "DAVIDE",
    "SIMONE",
    "FABIO",
    "MASSIMO",
    "SALVATORE",
    "VINCENZO",
    "NICOLÒ",
    "GIOSUÈ",
    "PIER PAOLO",
    "GIAN LUCA",
)

FEMALE_NAMES = (
    "MARIA",
    "ANNA",
    "GIULIA",
    "FRANCESCA",
    "CHIARA",
    "SARA",
    "LAURA",
    "VALENTINA",
    "ELENA",
    "SILVIA",
    "ALESSANDRA",
    "FEDERICA",
    "PAOLA",
    "MARTINA",
    "ROBERTA",
    "SIMONA",
    "ILARIA",
    "ROSSELLA",
    "BARBARA",
    "DANIELA",
    "NOEMI",
    "ASIA",
    "ANNA MARIA",
    "MARIA GRAZIA",
    "ZOE",
)

STREETS = (
    "VIA GARIBALDI",
    "VIA ROMA",
    "VIA MAZZINI",
    "VIA CAVOUR",
    "VIA DANTE ALIGHIERI",
    "VIA GIUSEPPE VERDI",
    "VIA GUGLIELMO MARCONI",
    "VIA DEI MILLE",
    "VIA XX SETTEMBRE",
    "VIA IV NOVEMBRE",
    "VIALE EUROPA",
    "VIALE DELLA REPUBBLICA",
    "CORSO VITTORIO EMANUELE II",
    "CORSO ITALIA",
    "PIAZZA DEL POPOLO",
    "PIAZZA DELL'UNITÀ D'ITALIA",
    "VIA SANT'ANTONIO",
    "VIA SAN FRANCESCO D'ASSISI",
    "VICOLO DEL POZZO",
    "LARGO SAN GIORGIO",
)

MOBILE_PREFIXES = (
    "320",
    "324",
    "328",
    "329",
    "333",
    "334",
    "338",
    "339",
    "340",
    "342",
    "345",
    "347",
    "348",
    "349",
    "351",
    "366",
    "380",
    "388",
    "389",
    "392",
    "393",
)

_MONTH_CODES = "ABCDEHLMPRST"
_VOWELS = frozenset("AEIOU")
_PLAIN_LETTERS = str.maketrans("ÀÁÈÉÌÍÒÓÙÚ", "AAEEIIOOUU")
_ITALIAN_SEPARATORS = str.maketrans(",.", ".,")

# Birth date and birth comune come from a permutation of the person index rather than from
# the random stream: two distinct people can then never collide on the date/place part of
# the tax code, so a repeated tax code always means the same person.
_BIRTH_FIRST = date(1945, 1, 1)
_BIRTH_DAYS = (date(2004, 12, 31) - _BIRTH_FIRST).days + 1
BIRTH_SLOTS = _BIRTH_DAYS * len(COMUNI)
# A prime larger than BIRTH_SLOTS is coprime with it, which makes the mapping a bijection.
BIRTH_SLOT_STRIDE = 1_000_003
_BIRTH_SEED_SHIFT = 7_919

# Keeps the per-person random streams of different portfolio seeds apart.
_PERSON_SEED_STRIDE = 1 << 40

_FIRST_DUE_MONTH = 2025 * 12  # January 2025, counted in months since year 0


@dataclass(frozen=True, slots=True)
class GeneratedInstallment:
    contract: str
    number: int
    due_date: date
    amount: Decimal
    method: str  # SDD, BOL or BON


@dataclass(frozen=True)
class Debtor:
    surname: str
    first_name: str
    sex: str  # "M" or "F"
    birth_date: date
    birth_place: str  # cadastral code of the birth comune
    tax_code: str
    address: str
    postcode: str
    comune: str
    province: str
    phone: str  # empty when unknown
    mobile: str  # empty when unknown
    email: str  # empty when unknown

    @property
    def full_name(self) -> str:
        return f"{self.surname} {self.first_name}"


@dataclass(frozen=True)
class InsolutiExpectation:
    rows: int
    found: int
    duplicates: int
    fees_total: Decimal
    contract_not_found: int
    amount_mismatch: int
    due_date_mismatch: int
    payment_method_mismatch: int
    installment_not_found: int


@dataclass
class Portfolio:
    """A generated portfolio.

    Only the installments are stored; debtor details are recomputed from the seed
    whenever they are needed, which keeps a 100,000-case portfolio small.
    """

    batch_code: str
    cases: int
    installments: list[GeneratedInstallment]
    seed: int = 7
    first_contract: int = 10_000_000
    # One index into PRODUCTS per case.
    products: bytes = b""
    # Case index -> index of the earlier case whose debtor holds this contract too.
    same_debtor_as: dict[int, int] = field(default_factory=dict)

    def contract(self, case: int) -> str:
        return f"{self.first_contract + case:010d}"

    def case_index(self, contract: str) -> int:
        return int(contract) - self.first_contract

    def product(self, case: int) -> str:
        if case < len(self.products):
            return PRODUCTS[self.products[case]]
        return PRODUCTS[0]

    def debtor(self, case: int) -> Debtor:
        return make_debtor(self.seed, self.same_debtor_as.get(case, case))

    def iter_cases(self) -> Iterator[tuple[int, list[GeneratedInstallment]]]:
        """Yield (case index, installments) in file order."""
        for contract, group in itertools.groupby(self.installments, key=attrgetter("contract")):
            yield self.case_index(contract), list(group)

    def write_csv(self, path_or_stream: OutputTarget) -> None:
        """Write the affido file: Windows-1252, ';' separated, CRLF, one row per installment."""
        # The case fields repeat on every installment row, so they are quoted once per case
        # and each case goes out in a single write: quoting all 800,000 rows of the benchmark
        # portfolio through csv roughly doubles the time. The installment fields are digits,
        # dates, Italian amounts and method codes, which never need quoting.
        case_buffer = io.StringIO()
        case_writer = csv.writer(case_buffer, delimiter=";", lineterminator=";")
        due_dates: dict[date, str] = {}
        amounts: dict[Decimal, str] = {}
        with _text_output(path_or_stream) as stream:
            csv.writer(stream, delimiter=";", lineterminator="\r\n").writerow(AFFIDO_HEADER)
            for case, installments in self.iter_cases():
                case_buffer.seek(0)
                case_buffer.truncate()
                case_writer.writerow(self._case_fields(case))
                prefix = case_buffer.getvalue()
                lines = []
                for installment in installments:
                    due = due_dates.get(installment.due_date)
                    if due is None:
                        due = due_dates[installment.due_date] = format_date(installment.due_date)
                    amount = amounts.get(installment.amount)
                    if amount is None:
                        amount = amounts[installment.amount] = format_amount(installment.amount)
                    lines.append(
                        f"{prefix}{installment.number};{due};{amount};{installment.method}\r\n"
                    )
                stream.write("".join(lines))

    def _case_fields(self, case: int) -> list[str]:
        debtor = self.debtor(case)
        return [
            self.batch_code,
            self.contract(case),
            debtor.full_name,
            debtor.tax_code,
            debtor.address,
            debtor.postcode,
            debtor.comune,
            debtor.province,
            debtor.phone,
            debtor.mobile,
            debtor.email,
            self.product(case),
        ]


def format_amount(amount: Decimal) -> str:
    """Italian notation: '1.234,56', '308,26'."""
    return f"{amount:,.2f}".translate(_ITALIAN_SEPARATORS)


def format_date(value: date) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def compute_tax_code(
    surname: str, first_name: str, birth_date: date, sex: str, birth_place: str
) -> str:
    """Italian codice fiscale of a person born in Italy (no omocodia handling)."""
    day = birth_date.day + (40 if sex == "F" else 0)
    body = (
        f"{_surname_part(surname)}{_first_name_part(first_name)}"
        f"{birth_date.year % 100:02d}{_MONTH_CODES[birth_date.month - 1]}{day:02d}{birth_place}"
    )
    return body + calc_check_digit(body)


def _consonants_and_vowels(name: str) -> tuple[str, str]:
    letters = [c for c in name.upper().translate(_PLAIN_LETTERS) if "A" <= c <= "Z"]
    consonants = "".join(c for c in letters if c not in _VOWELS)
    vowels = "".join(c for c in letters if c in _VOWELS)
    return consonants, vowels


# Names come from short lists, so a small cache saves most of the tax-code work.
@functools.lru_cache(maxsize=1024)
def _surname_part(surname: str) -> str:
    consonants, vowels = _consonants_and_vowels(surname)
    return (consonants + vowels + "XXX")[:3]


@functools.lru_cache(maxsize=1024)
def _first_name_part(first_name: str) -> str:
    consonants, vowels = _consonants_and_vowels(first_name)
    if len(consonants) >= 4:
        # The official rule skips the second consonant when there are four or more.
        return consonants[0] + consonants[2] + consonants[3]
    return (consonants + vowels + "XXX")[:3]


def _email_part(name: str) -> str:
    return "".join(c for c in name.translate(_PLAIN_LETTERS).lower() if "a" <= c <= "z")


def make_debtor(seed: int, person: int) -> Debtor:
    """The fictitious person number `person` of the portfolio generated with `seed`.

    Tax codes are unique across persons as long as person < BIRTH_SLOTS.
    """
    # A private stream per person lets any debtor be rebuilt on its own, in any order.
    rng = random.Random(seed * _PERSON_SEED_STRIDE + person)  # noqa: S311 - fake data, not secrets
    slot = (person * BIRTH_SLOT_STRIDE + seed * _BIRTH_SEED_SHIFT) % BIRTH_SLOTS
    birth_comune = COMUNI[slot % len(COMUNI)]
    birth_date = _BIRTH_FIRST + timedelta(days=slot // len(COMUNI))

    sex = "F" if rng.random() < 0.5 else "M"
    first_name = rng.choice(FEMALE_NAMES if sex == "F" else MALE_NAMES)
    surname = rng.choice(SURNAMES)
    home = rng.choice(COMUNI)
    address = f"{rng.choice(STREETS)} {rng.randint(1, 199)}"

    phone = ""
    if rng.random() < 0.6:
        digits = 10 - len(home.area_code)
        phone = f"{home.area_code}{rng.randrange(10 ** (digits - 1), 10**digits)}"
    mobile = ""
    if rng.random() < 0.85:
        mobile = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(1_000_000, 10_000_000)}"
    email = ""
    if rng.random() < 0.55:
        local = f"{_email_part(first_name)}.{_email_part(surname)}{rng.randrange(100):02d}"
        email = f"{local}@example.it"

    return Debtor(
        surname=surname,
        first_name=first_name,
        sex=sex,
        birth_date=birth_date,
        birth_place=birth_comune.cadastral_code,
        tax_code=compute_tax_code(
            surname, first_name, birth_date, sex, birth_comune.cadastral_code
        ),
        address=address,
        postcode=home.postcode,
        comune=home.name,
        province=home.province,
        phone=phone,
        mobile=mobile,
        email=email,
    )


def generate_portfolio(
    *,
    cases: int,
    seed: int = 7,
    batch_code: str = "CMP-2026-001",
    first_contract: int = 10_000_000,
    installments_per_case: tuple[int, int] = (4, 12),
) -> Portfolio:
    """Generate `cases` contracts with monthly installments starting in 2025."""
    low, high = installments_per_case
    if cases < 0:
        raise ValueError("cases must not be negative")
    if low < 1 or high < low:
        raise ValueError("installments_per_case must be (low, high) with 1 <= low <= high")
    if first_contract < 0 or first_contract + cases > MAX_CONTRACT_NUMBER:
        raise ValueError("contract numbers must fit in ten digits")

    rng = random.Random(seed)  # noqa: S311 - fake data, not secrets
    same_debtor_as = _pick_shared_debtors(rng, cases)
    products = bytearray(cases)
    installments: list[GeneratedInstallment] = []
    append = installments.append
    # Sharing date and Decimal objects between installments keeps 800,000 of them small.
    due_dates: dict[int, date] = {}
    amounts: dict[int, Decimal] = {}

    for case in range(cases):
        contract = f"{first_contract + case:010d}"
        count = rng.randint(low, high)
        first_month = _FIRST_DUE_MONTH + rng.randrange(12)
        day = rng.randint(1, 28)
        cents = rng.randint(MIN_INSTALLMENT_CENTS, MAX_INSTALLMENT_CENTS)
        roll = rng.random()
        method = "SDD" if roll < 0.7 else "BOL" if roll < 0.9 else "BON"
        products[case] = rng.randrange(len(PRODUCTS))
        last_cents = cents
        if count > 1 and rng.random() < 0.15:
            while last_cents == cents:
                last_cents = rng.randint(MIN_INSTALLMENT_CENTS, MAX_INSTALLMENT_CENTS)

        amount = _shared_amount(amounts, cents)
        last_amount = _shared_amount(amounts, last_cents)
        for number in range(1, count + 1):
            month = first_month + number - 1
            key = month * 32 + day
            due = due_dates.get(key)
            if due is None:
                due = due_dates[key] = date(month // 12, month % 12 + 1, day)
            append(
                GeneratedInstallment(
                    contract, number, due, amount if number < count else last_amount, method
                )
            )

    return Portfolio(
        batch_code=batch_code,
        cases=cases,
        installments=installments,
        seed=seed,
        first_contract=first_contract,
        products=bytes(products),
        same_debtor_as=same_debtor_as,
    )


def _shared_amount(cache: dict[int, Decimal], cents: int) -> Decimal:
    amount = cache.get(cents)
    if amount is None:
        amount = cache[cents] = Decimal(cents).scaleb(-2)
    return amount


def _pick_shared_debtors(rng: random.Random, cases: int) -> dict[int, int]:
    shared = round(cases * SHARED_DEBTOR_RATE)
    if cases < 2 or shared == 0:
        return {}
    result: dict[int, int] = {}
    for case in sorted(rng.sample(range(1, cases), shared)):
        other = rng.randrange(case)
        # Point at the person's first contract so that lookups never have to follow a chain.
        result[case] = result.get(other, other)
    return result


def write_portfolio_xlsx(portfolio: Portfolio, path_or_stream: OutputTarget) -> None:
    """The affido file as XLSX: same columns and values as the CSV, with typed cells.

    Amounts are numbers, dates are dates; contract numbers, postcodes and phone numbers
    are text so their leading zeros survive. Meant for demo-sized portfolios: openpyxl
    writes a few thousand rows a second here, so benchmarks should use the CSV.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("AFFIDO")
    sheet.append(list(AFFIDO_HEADER))

    def text(value: str) -> WriteOnlyCell | None:
        if not value:
            return None
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "@"
        return cell

    for case, installments in portfolio.iter_cases():
        debtor = portfolio.debtor(case)
        contract = portfolio.contract(case)
        product = portfolio.product(case)
        for installment in installments:
            due = WriteOnlyCell(sheet, value=installment.due_date)
            due.number_format = "DD/MM/YYYY"
            amount = WriteOnlyCell(sheet, value=installment.amount)
            amount.number_format = "#,##0.00"
            sheet.append(
                [
                    portfolio.batch_code,
                    text(contract),
                    debtor.full_name,
                    debtor.tax_code,
                    debtor.address,
                    text(debtor.postcode),
                    debtor.comune,
                    debtor.province,
                    text(debtor.phone),
                    text(debtor.mobile),
                    debtor.email or None,
                    product,
                    installment.number,
                    due,
                    amount,
                    installment.method,
                ]
            )
    target = (
        os.fspath(path_or_stream) if isinstance(path_or_stream, os.PathLike) else path_or_stream
    )
    workbook.save(target)


@dataclass(frozen=True)
class _InsolutoRow:
    kind: str
    fields: tuple[str, ...]
    fee: Decimal


def write_insoluti_csv(
    portfolio: Portfolio,
    path_or_stream: OutputTarget,
    *,
    found: int,
    amount_mismatch: int = 0,
    due_date_mismatch: int = 0,
    payment_method_mismatch: int = 0,
    contract_not_found: int = 0,
    installment_not_found: int = 0,
    duplicates: int = 0,
    seed: int = 11,
    agency_code: str = "AG001",
) -> InsolutiExpectation:
    """Write an insoluti file against `portfolio` and return what importing it must report.

    Each requested row except contract_not_found is built from a distinct installment;
    duplicates repeat some found rows, byte for byte, later in the file.
    """
    requested = {
        "found": found,
        "amount_mismatch": amount_mismatch,
        "due_date_mismatch": due_date_mismatch,
        "payment_method_mismatch": payment_method_mismatch,
        "contract_not_found": contract_not_found,
        "installment_not_found": installment_not_found,
        "duplicates": duplicates,
    }
    negative = [name for name, count in requested.items() if count < 0]
    if negative:
        raise ValueError(f"counts must not be negative: {', '.join(negative)}")
    if duplicates > found:
        raise ValueError("duplicates repeat found rows, so they cannot outnumber them")
    kinds = (
        ["found"] * found
        + ["amount_mismatch"] * amount_mismatch
        + ["due_date_mismatch"] * due_date_mismatch
        + ["payment_method_mismatch"] * payment_method_mismatch
        + ["installment_not_found"] * installment_not_found
    )
    if portfolio.first_contract + portfolio.cases + contract_not_found > MAX_CONTRACT_NUMBER + 1:
        raise ValueError("unknown contract numbers must still fit in ten digits")
    installments = portfolio.installments
    if len(kinds) > len(installments):
        raise ValueError(
            f"the portfolio has {len(installments)} installments, "
            f"{len(kinds)} distinct ones are needed"
        )

    rng = random.Random(seed)  # noqa: S311 - fake data, not secrets
    picks = rng.sample(range(len(installments)), len(kinds))
    rows: list[_InsolutoRow] = []
    for kind, index in zip(kinds, picks, strict=True):
        rows.append(_row_from_installment(rng, portfolio, index, kind, agency_code))
    for offset in range(contract_not_found):
        rows.append(_row_for_unknown_contract(rng, portfolio, offset, agency_code))
    rng.shuffle(rows)

    # A repeated row goes somewhere after its original, never before it.
    placed = [(float(position), row) for position, row in enumerate(rows)]
    found_positions = [position for position, row in enumerate(rows) if row.kind == "found"]
    for position in rng.sample(found_positions, duplicates):
        later = position + 0.5 + rng.randrange(len(rows) - position)
        placed.append((later, rows[position]))
    placed.sort(key=itemgetter(0))

    with _text_output(path_or_stream) as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(INSOLUTI_HEADER)
        writer.writerows(row.fields for _, row in placed)

    return InsolutiExpectation(
        rows=len(placed),
        found=found,
        duplicates=duplicates,
        fees_total=sum((row.fee for row in rows if row.kind == "found"), Decimal("0.00")),
        contract_not_found=contract_not_found,
        amount_mismatch=amount_mismatch,
        due_date_mismatch=due_date_mismatch,
        payment_method_mismatch=payment_method_mismatch,
        installment_not_found=installment_not_found,
    )


def _row_from_installment(
    rng: random.Random, portfolio: Portfolio, index: int, kind: str, agency_code: str
) -> _InsolutoRow:
    installment = portfolio.installments[index]
    siblings = _same_contract(portfolio.installments, index)
    taken_dates = {sibling.due_date for sibling in siblings}
    taken_amounts = {sibling.amount for sibling in siblings}
    number = installment.number
    due = installment.due_date
    amount = installment.amount
    method = installment.method

    if kind == "amount_mismatch":
        amount = _different_amount(rng, amount, taken_amounts, 100, 999)
    elif kind == "due_date_mismatch":
        # Installments are a month apart, so a shift of a few days lands between two of them.
        while due in taken_dates:
            due = installment.due_date + timedelta(days=rng.choice((-1, 1)) * rng.randint(1, 5))
    elif kind == "payment_method_mismatch":
        method = rng.choice([other for other in PAYMENT_METHODS if other != method])
    elif kind == "installment_not_found":
        years = 10
        while due in taken_dates:
            due = installment.due_date.replace(year=installment.due_date.year + years)
            years += 1
        amount = _different_amount(rng, amount, taken_amounts, 1_000, 5_000)
        taken_methods = {sibling.method for sibling in siblings}
        # RID is the pre-SEPA direct debit code: still plausible, and outside a case that
        # somehow used all three current methods.
        method = rng.choice([m for m in PAYMENT_METHODS if m not in taken_methods] or ["RID"])
        number = max(sibling.number for sibling in siblings) + 1

    debtor = portfolio.debtor(portfolio.case_index(installment.contract))
    return _insoluto_row(
        rng, kind, agency_code, installment.contract, debtor, number, due, amount, method
    )


def _row_for_unknown_contract(
    rng: random.Random, portfolio: Portfolio, offset: int, agency_code: str
) -> _InsolutoRow:
    # Numbers past the last contract, owned by people who are not in the portfolio.
    case = portfolio.cases + offset
    due = date(2025, rng.randint(1, 12), rng.randint(1, 28))
    amount = Decimal(rng.randint(MIN_INSTALLMENT_CENTS, MAX_INSTALLMENT_CENTS)).scaleb(-2)
    method = rng.choices(PAYMENT_METHODS, weights=(7, 2, 1))[0]
    return _insoluto_row(
        rng,
        "contract_not_found",
        agency_code,
        portfolio.contract(case),
        make_debtor(portfolio.seed, case),
        rng.randint(1, 12),
        due,
        amount,
        method,
    )


def _insoluto_row(
    rng: random.Random,
    kind: str,
    agency_code: str,
    contract: str,
    debtor: Debtor,
    number: int,
    due: date,
    amount: Decimal,
    method: str,
) -> _InsolutoRow:
    returned_on = due + timedelta(days=rng.randint(3, 10))
    fee = rng.choice(PROTEST_FEES)
    fields = (
        agency_code,
        contract,
        debtor.full_name,
        debtor.tax_code,
        str(number),
        format_date(due),
        format_amount(amount),
        method,
        format_date(returned_on),
        format_amount(fee),
    )
    return _InsolutoRow(kind=kind, fields=fields, fee=fee)


def _same_contract(
    installments: list[GeneratedInstallment], index: int
) -> list[GeneratedInstallment]:
    contract = installments[index].contract
    start = index
    while start > 0 and installments[start - 1].contract == contract:
        start -= 1
    end = index + 1
    while end < len(installments) and installments[end].contract == contract:
        end += 1
    return installments[start:end]


def _different_amount(
    rng: random.Random, amount: Decimal, taken: set[Decimal], low_cents: int, high_cents: int
) -> Decimal:
    candidate = amount
    while candidate in taken or candidate <= 0:
        delta = Decimal(rng.randint(low_cents, high_cents)).scaleb(-2)
        candidate = amount + delta if rng.random() < 0.5 else amount - delta
    return candidate


@contextmanager
def _text_output(target: OutputTarget) -> Iterator[IO[str]]:
    if isinstance(target, str | os.PathLike):
        with Path(target).open("w", encoding=CSV_ENCODING, newline="") as handle:
            yield handle
        return
    wrapper = io.TextIOWrapper(target, encoding=CSV_ENCODING, newline="")
    try:
        yield wrapper
    finally:
        wrapper.flush()
        # Detaching leaves the caller's stream open; closing the wrapper would close it too.
        wrapper.detach()
