"""Record a payment on a case from the command line, as the case page does."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.models import Case, PaymentChannel
from cases.payments import PaymentRefused, record_payment


class Command(BaseCommand):
    help = (
        "Record a payment on a creditor's case: it settles the oldest open installments first. "
        "Exit status 1 when the case is not found or the payment is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--creditor", required=True, help="Creditor code, e.g. COMPASS")
        parser.add_argument("--contract", required=True, help="Contract number of the case")
        parser.add_argument("--date", required=True, help="Payment date, YYYY-MM-DD")
        parser.add_argument("--amount", required=True, help="Amount in euro, e.g. 123.45")
        parser.add_argument(
            "--channel", choices=PaymentChannel.values, default=PaymentChannel.AGENCY
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self._record(options)
        except CommandError as exc:
            if options["json"]:
                self.stdout.write(json.dumps({"status": "refused", "error": str(exc)}))
            raise
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")

    def _record(self, options: dict[str, Any]) -> dict[str, Any]:
        paid_on = parse_date(options["date"])
        amount = parse_amount(options["amount"])
        case = find_case(options["creditor"], options["contract"])
        try:
            payment = record_payment(case, paid_on, amount, options["channel"], None)
        except PaymentRefused as exc:
            raise CommandError(exc.message) from exc
        allocations = payment.allocations.select_related("installment").order_by(
            "installment__due_date", "installment__number"
        )
        case.refresh_from_db()
        return {
            "status": "recorded",
            "payment": payment.pk,
            "case": case.pk,
            "state": payment.state,
            "allocations": [
                {"installment": a.installment.number, "amount": str(a.amount)} for a in allocations
            ],
            "unallocated": str(payment.amount - sum((a.amount for a in allocations), Decimal(0))),
            "total_requested": str(case.compute_total_requested()),
        }


def parse_date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--date {text!r} is not a date as YYYY-MM-DD.") from exc


def parse_amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise CommandError(f"--amount {text!r} is not an amount such as 123.45.") from exc
    if not amount.is_finite():
        raise CommandError(f"--amount {text!r} is not an amount such as 123.45.")
    return amount


def find_case(creditor: str, contract: str) -> Case:
    """The creditor's open case with that contract; a re-assigned contract has one open case,
    the others returned or closed."""
    cases = list(
        Case.objects.filter(creditor__code=creditor.upper(), contract_number=contract).order_by(
            "-pk"
        )
    )
    if not cases:
        raise CommandError(f"No case with contract {contract} for creditor {creditor.upper()}.")
    open_cases = [case for case in cases if case.is_open]
    if len(open_cases) > 1:
        ids = ", ".join(str(case.pk) for case in open_cases)
        raise CommandError(
            f"Contract {contract} has several open cases ({ids}); record it on the page."
        )
    # With no open case the service refuses with the case's state.
    return open_cases[0] if open_cases else cases[0]
