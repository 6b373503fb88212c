"""Tests for the example creditor file generator (no database needed)."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from stdnum.it import codicefiscale

from imports import samplegen
from imports.samplegen import (
    AFFIDO_HEADER,
    INSOLUTI_HEADER,
    GeneratedInstallment,
    Portfolio,
    generate_portfolio,
    write_insoluti_csv,
    write_portfolio_xlsx,
)

AMOUNT_RE = re.compile(r"^\d{1,3}(\.\d{3})*,\d{2}$")
DATE_RE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate_portfolio(cases=600)


@pytest.fixture(scope="module")
def affido_bytes(portfolio: Portfolio) -> bytes:
    buffer = io.BytesIO()
    portfolio.write_csv(buffer)
    return buffer.getvalue()


def parse_csv(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("cp1252"), newline=""), delimiter=";"))


def parse_amount(text: str) -> Decimal:
    assert AMOUNT_RE.match(text), text
    return Decimal(text.replace(".", "").replace(",", "."))


def parse_date(text: str) -> date:
    assert DATE_RE.match(text), text
    return datetime.strptime(text, "%d/%m/%Y").date()  # noqa: DTZ007 - a calendar date


def csv_bytes(portfolio: Portfolio) -> bytes:
    buffer = io.BytesIO()
    portfolio.write_csv(buffer)
    return buffer.getvalue()


def test_same_seed_gives_same_bytes() -> None:
    first = csv_bytes(generate_portfolio(cases=150, seed=3))
    second = csv_bytes(generate_portfolio(cases=150, seed=3))
    other = csv_bytes(generate_portfolio(cases=150, seed=4))
    assert first == second
    assert first != other


def test_write_csv_to_path_matches_stream(
    tmp_path: Path, portfolio: Portfolio, affido_bytes: bytes
) -> None:
    target = tmp_path / "affido.csv"
    portfolio.write_csv(target)
    portfolio.write_csv(str(target) + ".2")
    assert target.read_bytes() == affido_bytes
    assert (tmp_path / "affido.csv.2").read_bytes() == affido_bytes


def test_stream_is_left_open(portfolio: Portfolio) -> None:
    buffer = io.BytesIO()
    portfolio.write_csv(buffer)
    assert not buffer.closed


def test_header_encoding_and_line_endings(portfolio: Portfolio, affido_bytes: bytes) -> None:
    header = ";".join(AFFIDO_HEADER).encode("ascii") + b"\r\n"
    assert affido_bytes.startswith(header)
    assert affido_bytes.count(b"\r\n") == len(portfolio.installments) + 1
    assert b"\n" not in affido_bytes.replace(b"\r\n", b"")
    assert affido_bytes.endswith(b"\r\n")

    text = affido_bytes.decode("cp1252")
    assert "Ò" in text
    # Windows-1252 keeps accented capitals to one byte, unlike UTF-8.
    assert "Ò".encode("cp1252") == b"\xd2"
    assert b"\xd2" in affido_bytes
    assert "Ò".encode() not in affido_bytes
    assert re.search(r"^[^;]*;[^;]*;[^;]*[ÀÈÉÌÒÙ]", text, re.MULTILINE), "no accented name"


def test_rows_follow_the_installments(portfolio: Portfolio, affido_bytes: bytes) -> None:
    rows = parse_csv(affido_bytes)
    assert tuple(rows[0]) == AFFIDO_HEADER
    data = rows[1:]
    assert len(data) == len(portfolio.installments)
    for row, installment in zip(data, portfolio.installments, strict=True):
        assert len(row) == len(AFFIDO_HEADER)
        assert row[0] == portfolio.batch_code
        assert row[1] == installment.contract
        assert re.fullmatch(r"\d{10}", row[1])
        assert int(row[12]) == installment.number
        assert parse_date(row[13]) == installment.due_date
        assert parse_amount(row[14]) == installment.amount
        assert row[15] == installment.method
        assert row[11] in samplegen.PRODUCTS
        assert re.fullmatch(r"\d{5}", row[5])
        assert row[8] == "" or re.fullmatch(r"0\d{9}", row[8])
        assert row[9] == "" or re.fullmatch(r"3\d{9}", row[9])
        assert row[10] == "" or re.fullmatch(r"[a-z]+\.[a-z]+\d{2}@example\.it", row[10])
        assert row[2] == row[2].upper()
    assert any(row[5].startswith("0") for row in data)
    assert any(row[8] == "" for row in data)
    assert any(row[10] == "" for row in data)
    assert any("." in row[14] for row in data), "expected some amounts of 1.000,00 or more"


def test_case_fields_repeat_and_installments_are_consistent(
    portfolio: Portfolio, affido_bytes: bytes
) -> None:
    by_contract: dict[str, list[list[str]]] = defaultdict(list)
    for row in parse_csv(affido_bytes)[1:]:
        by_contract[row[1]].append(row)
    assert len(by_contract) == portfolio.cases
    methods: Counter[str] = Counter()
    for contract, rows in by_contract.items():
        assert len({tuple(row[:12]) for row in rows}) == 1, contract
        assert 4 <= len(rows) <= 12
        assert [int(row[12]) for row in rows] == list(range(1, len(rows) + 1))
        dates = [parse_date(row[13]) for row in rows]
        assert len(set(dates)) == len(dates)
        assert {d.day for d in dates} == {dates[0].day}
        assert 1 <= dates[0].day <= 28
        assert dates[0].year == 2025
        for earlier, later in itertools.pairwise(dates):
            assert (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1
        amounts = [parse_amount(row[14]) for row in rows]
        assert len(set(amounts[:-1])) == 1
        assert all(Decimal("50.00") <= amount <= Decimal("1500.00") for amount in amounts)
        assert len({row[15] for row in rows}) == 1
        methods[rows[0][15]] += 1
    assert methods.most_common(1)[0][0] == "SDD"
    assert set(methods) == {"SDD", "BOL", "BON"}


def test_tax_codes_are_valid_and_some_are_shared(portfolio: Portfolio) -> None:
    names_by_code: dict[str, set[str]] = defaultdict(set)
    cases_by_code: Counter[str] = Counter()
    for case in range(portfolio.cases):
        debtor = portfolio.debtor(case)
        assert codicefiscale.is_valid(debtor.tax_code), debtor
        assert codicefiscale.get_birth_date(debtor.tax_code) == debtor.birth_date
        assert codicefiscale.get_gender(debtor.tax_code) == debtor.sex
        assert debtor.tax_code[11:15] == debtor.birth_place
        names_by_code[debtor.tax_code].add(debtor.full_name)
        cases_by_code[debtor.tax_code] += 1
    # The same tax code always belongs to the same person.
    assert all(len(names) == 1 for names in names_by_code.values())
    second_contracts = portfolio.cases - len(cases_by_code)
    assert second_contracts == round(portfolio.cases * samplegen.SHARED_DEBTOR_RATE)
    assert 0.02 <= second_contracts / portfolio.cases <= 0.04


def test_shared_debtor_has_identical_details(portfolio: Portfolio) -> None:
    assert portfolio.same_debtor_as
    for case, other in portfolio.same_debtor_as.items():
        assert other < case
        assert portfolio.debtor(case) == portfolio.debtor(other)
        assert portfolio.contract(case) != portfolio.contract(other)


@pytest.mark.parametrize(
    ("surname", "first_name", "born", "sex", "place", "expected"),
    [
        ("ROSSI", "MARIO", date(1985, 12, 10), "M", "A562", "RSSMRA85T10A562S"),
        ("D'ANGELO", "NICOLÒ", date(1970, 1, 5), "M", "H501", None),
        ("FORTÌ", "ANNA MARIA", date(1999, 7, 31), "F", "L290", None),
        ("FO", "IO", date(1950, 2, 1), "F", "F205", None),
    ],
)
def test_compute_tax_code(
    surname: str, first_name: str, born: date, sex: str, place: str, expected: str | None
) -> None:
    code = samplegen.compute_tax_code(surname, first_name, born, sex, place)
    assert codicefiscale.is_valid(code)
    if expected:
        assert code == expected
    if surname == "D'ANGELO":
        assert code.startswith("DNGNCL70A05H501")
    if surname == "FORTÌ":
        # Four consonants in the first name: first, third and fourth are used.
        assert code.startswith("FRTNMR99L71L290")
    if surname == "FO":
        assert code.startswith("FOXIOX50B41F205")


def test_birth_slot_stride_is_a_bijection() -> None:
    assert math.gcd(samplegen.BIRTH_SLOT_STRIDE, samplegen.BIRTH_SLOTS) == 1


def test_italian_amount_format() -> None:
    assert samplegen.format_amount(Decimal("1234.56")) == "1.234,56"
    assert samplegen.format_amount(Decimal("308.26")) == "308,26"
    assert samplegen.format_amount(Decimal("50.00")) == "50,00"
    assert samplegen.format_amount(Decimal("1500.00")) == "1.500,00"
    assert samplegen.format_date(date(2025, 3, 7)) == "07/03/2025"


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate_portfolio(cases=-1)
    with pytest.raises(ValueError):
        generate_portfolio(cases=5, installments_per_case=(0, 3))
    with pytest.raises(ValueError):
        generate_portfolio(cases=5, installments_per_case=(5, 3))
    with pytest.raises(ValueError):
        generate_portfolio(cases=5, first_contract=9_999_999_999)


def classify_insoluti(
    portfolio: Portfolio, rows: list[list[str]]
) -> tuple[Counter[str], Decimal, list[tuple[str, ...]]]:
    """Classify insoluti rows against the portfolio, the way an importer should."""
    by_contract: dict[str, list[GeneratedInstallment]] = defaultdict(list)
    for installment in portfolio.installments:
        by_contract[installment.contract].append(installment)
    counts: Counter[str] = Counter()
    fees = Decimal("0.00")
    seen: set[tuple[str, date, Decimal, str]] = set()
    found_rows: list[tuple[str, ...]] = []
    for row in rows:
        contract = row[1]
        due = parse_date(row[5])
        amount = parse_amount(row[6])
        method = row[7]
        fee = parse_amount(row[9])
        returned = parse_date(row[8])
        assert timedelta(days=1) <= returned - due <= timedelta(days=15)
        assert row[9] in {"0,00", "5,16", "7,50", "12,00"}
        case = by_contract.get(contract)
        if case is None:
            counts["contract_not_found"] += 1
            continue
        key = (contract, due, amount, method)
        if any((i.due_date, i.amount, i.method) == key[1:] for i in case):
            if key in seen:
                counts["duplicates"] += 1
            else:
                seen.add(key)
                counts["found"] += 1
                fees += fee
                found_rows.append(tuple(row))
            continue
        same_date = [i for i in case if i.due_date == due]
        if same_date and same_date[0].method == method:
            counts["amount_mismatch"] += 1
        elif same_date and same_date[0].amount == amount:
            counts["payment_method_mismatch"] += 1
        elif not same_date and any(i.amount == amount and i.method == method for i in case):
            counts["due_date_mismatch"] += 1
        else:
            assert all(
                i.due_date != due and i.amount != amount and i.method != method for i in case
            ), row
            counts["installment_not_found"] += 1
    return counts, fees, found_rows


def test_insoluti_expectation_matches_file(portfolio: Portfolio) -> None:
    buffer = io.BytesIO()
    expectation = write_insoluti_csv(
        portfolio,
        buffer,
        found=60,
        amount_mismatch=7,
        due_date_mismatch=8,
        payment_method_mismatch=9,
        contract_not_found=5,
        installment_not_found=6,
        duplicates=10,
    )
    raw = buffer.getvalue()
    assert raw.startswith(";".join(INSOLUTI_HEADER).encode("ascii") + b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    rows = parse_csv(raw)
    assert tuple(rows[0]) == INSOLUTI_HEADER
    data = rows[1:]
    assert all(len(row) == len(INSOLUTI_HEADER) for row in data)

    counts, fees, found_rows = classify_insoluti(portfolio, data)
    assert expectation.rows == len(data) == 60 + 7 + 8 + 9 + 5 + 6 + 10
    assert expectation.found == counts["found"] == 60
    assert expectation.duplicates == counts["duplicates"] == 10
    assert expectation.amount_mismatch == counts["amount_mismatch"] == 7
    assert expectation.due_date_mismatch == counts["due_date_mismatch"] == 8
    assert expectation.payment_method_mismatch == counts["payment_method_mismatch"] == 9
    assert expectation.contract_not_found == counts["contract_not_found"] == 5
    assert expectation.installment_not_found == counts["installment_not_found"] == 6
    assert expectation.fees_total == fees

    # Duplicates are identical lines, each one after its original.
    lines = raw.split(b"\r\n")[1:-1]
    repeated = [line for line, count in Counter(lines).items() if count > 1]
    assert len(repeated) == 10
    assert all(Counter(lines)[line] == 2 for line in repeated)
    found_lines = {";".join(row).encode("cp1252") for row in found_rows}
    assert set(repeated) <= found_lines

    # Names and tax codes on matched rows are the portfolio's debtors.
    contracts = {installment.contract for installment in portfolio.installments}
    for row in data:
        if row[1] in contracts:
            debtor = portfolio.debtor(portfolio.case_index(row[1]))
            assert (row[2], row[3]) == (debtor.full_name, debtor.tax_code)
        else:
            assert int(row[1]) >= portfolio.first_contract + portfolio.cases
            assert codicefiscale.is_valid(row[3])


def test_insoluti_is_deterministic(portfolio: Portfolio) -> None:
    outputs = []
    for _ in range(2):
        buffer = io.BytesIO()
        write_insoluti_csv(portfolio, buffer, found=20, amount_mismatch=3, duplicates=4, seed=5)
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]
    other = io.BytesIO()
    write_insoluti_csv(portfolio, other, found=20, amount_mismatch=3, duplicates=4, seed=6)
    assert other.getvalue() != outputs[0]


def test_insoluti_without_rows(portfolio: Portfolio) -> None:
    buffer = io.BytesIO()
    expectation = write_insoluti_csv(portfolio, buffer, found=0)
    assert expectation.rows == 0
    assert expectation.fees_total == Decimal("0.00")
    assert buffer.getvalue() == ";".join(INSOLUTI_HEADER).encode("ascii") + b"\r\n"


def test_insoluti_rejects_impossible_requests() -> None:
    small = generate_portfolio(cases=2, installments_per_case=(4, 4))
    with pytest.raises(ValueError):
        write_insoluti_csv(small, io.BytesIO(), found=5, amount_mismatch=4)
    with pytest.raises(ValueError):
        write_insoluti_csv(small, io.BytesIO(), found=2, duplicates=3)
    with pytest.raises(ValueError):
        write_insoluti_csv(small, io.BytesIO(), found=-1)
    # Exactly as many installments as requested is fine.
    expectation = write_insoluti_csv(small, io.BytesIO(), found=4, installment_not_found=4)
    assert expectation.rows == 8


def test_xlsx_has_typed_cells() -> None:
    small = generate_portfolio(cases=40)
    buffer = io.BytesIO()
    write_portfolio_xlsx(small, buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue()))["AFFIDO"]
    rows = list(sheet.iter_rows())
    assert tuple(cell.value for cell in rows[0]) == AFFIDO_HEADER
    csv_rows = parse_csv(csv_bytes(small))[1:]
    assert len(rows) - 1 == len(csv_rows) == len(small.installments)
    for cells, expected in zip(rows[1:], csv_rows, strict=True):
        contract, postcode, amount, due = cells[1], cells[5], cells[14], cells[13]
        assert contract.data_type == "s"
        assert contract.value == expected[1]
        assert contract.value.startswith("00")
        assert postcode.data_type == "s"
        assert postcode.value == expected[5]
        assert amount.data_type == "n"
        assert amount.number_format == "#,##0.00"
        assert Decimal(str(amount.value)).quantize(Decimal("0.01")) == parse_amount(expected[14])
        assert due.is_date
        assert due.value.date() == parse_date(expected[13])
        assert cells[12].value == int(expected[12])
        texts = [cells[i].value or "" for i in (0, 2, 3, 4, 6, 7, 8, 9, 10, 11, 15)]
        assert texts == [expected[i] for i in (0, 2, 3, 4, 6, 7, 8, 9, 10, 11, 15)]
    assert any(cells[5].value.startswith("0") for cells in rows[1:])


def test_xlsx_to_path(tmp_path: Path) -> None:
    target = tmp_path / "affido.xlsx"
    write_portfolio_xlsx(generate_portfolio(cases=3), target)
    assert load_workbook(target)["AFFIDO"].max_row > 1


def test_large_portfolio_generation() -> None:
    # Performance sanity for the benchmark size, with no timing assertion: it takes a couple
    # of seconds. Drop to 20,000 cases if it ever slows the suite down noticeably.
    large = generate_portfolio(cases=100_000, installments_per_case=(8, 8))
    assert len(large.installments) == 800_000
    assert large.installments[-1].contract == large.contract(99_999)
