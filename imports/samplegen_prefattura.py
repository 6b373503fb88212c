"""Synthetic pre-invoice (prefattura) files against a generated portfolio, for the benchmark and
for tests: each row pays the first installment of a distinct case, or its first two, or an
amount that fits no installment, or names a contract the creditor never assigned."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from imports.samplegen import (
    MAX_CONTRACT_NUMBER,
    GeneratedInstallment,
    OutputTarget,
    Portfolio,
    _text_output,
    format_amount,
    format_date,
)

HEADER = ("Lotto", "Contratto", "Nominativo", "DataPagamento", "Importo")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PrefatturaExpectation:
    """What importing the file into a database holding the portfolio must report."""

    rows: int
    matched: int
    contract_not_found: int
    amount_not_matched: int
    collected_total: Decimal


def write_prefattura_csv(
    portfolio: Portfolio,
    path_or_stream: OutputTarget,
    *,
    matched: int,
    two_installments: int = 0,
    amount_not_matched: int = 0,
    contract_not_found: int = 0,
    seed: int = 13,
) -> PrefatturaExpectation:
    """Write a prefattura CSV (Windows-1252, ';', CRLF) and return what it must match.

    Each row but the unknown contracts takes a distinct case whose installments are all still
    open, so the expected outcome does not depend on the order rows are matched in.
    """
    wanted = matched + two_installments + amount_not_matched
    if wanted > portfolio.cases:
        raise ValueError(f"the portfolio has {portfolio.cases} cases, {wanted} are needed")
    if portfolio.first_contract + portfolio.cases + contract_not_found > MAX_CONTRACT_NUMBER + 1:
        raise ValueError("unknown contract numbers must still fit in ten digits")
    rng = random.Random(seed)  # noqa: S311 - fake data, not secrets
    picked = set(rng.sample(range(portfolio.cases), wanted))
    kinds = ["one"] * matched + ["two"] * two_installments + ["none"] * amount_not_matched
    rng.shuffle(kinds)
    by_case = {case: items for case, items in portfolio.iter_cases() if case in picked}

    rows: list[tuple[str, ...]] = []
    collected = Decimal("0.00")
    for case, kind in zip(sorted(picked), kinds, strict=True):
        installments = by_case[case]
        if kind == "two" and len(installments) < 2:
            kind = "one"
        row, amount = _payment_row(rng, portfolio, case, installments, kind)
        rows.append(row)
        if kind != "none":
            collected += amount
    for offset in range(contract_not_found):
        contract = f"{portfolio.first_contract + portfolio.cases + offset:010d}"
        rows.append((portfolio.batch_code, contract, "", "15/03/2025", "100,00"))
    rng.shuffle(rows)

    with _text_output(path_or_stream) as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return PrefatturaExpectation(
        rows=len(rows),
        matched=sum(1 for kind in kinds if kind != "none"),
        contract_not_found=contract_not_found,
        amount_not_matched=amount_not_matched,
        collected_total=collected,
    )


def _payment_row(
    rng: random.Random,
    portfolio: Portfolio,
    case: int,
    installments: list[GeneratedInstallment],
    kind: str,
) -> tuple[tuple[str, ...], Decimal]:
    first = installments[0]
    if kind == "two":
        amount = first.amount + installments[1].amount
    elif kind == "one":
        amount = first.amount
    else:
        # A cent more than the first installment, and not the amount of any other.
        amounts = {installment.amount for installment in installments}
        amount = first.amount + CENT
        while amount in amounts:
            amount += CENT
    paid_on = first.due_date + timedelta(days=rng.randint(0, 20))
    name = portfolio.debtor(case).full_name if rng.random() < 0.5 else ""
    row = (portfolio.batch_code, portfolio.contract(case), name, format_date(paid_on))
    return (*row, format_amount(amount)), amount
