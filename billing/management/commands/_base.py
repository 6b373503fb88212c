"""What the billing commands share: the user they act as, their output, and their refusals."""

from __future__ import annotations

import json
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from billing.documents import pre_invoice_totals
from billing.models import PreInvoice

# The command line acts as nobody: its changes are audited without a user, as record_payment's
# are. The services take a User and store None as such.
COMMAND_LINE = cast(User, None)


class BillingCommand(BaseCommand):
    """Runs `act`, prints its result as `key: value` lines or, with --json, one JSON object.
    A refusal prints {"status": "refused", "error": ...} with --json and exits with status 1."""

    def add_json_argument(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self.act(options)
        except CommandError as exc:
            if options.get("json"):
                self.stdout.write(json.dumps({"status": "refused", "error": str(exc)}))
            raise
        if options.get("json"):
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")

    def act(self, options: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


def describe_pre_invoice(pre_invoice: PreInvoice) -> dict[str, Any]:
    """The pre-invoice with the totals its page shows, amounts as decimal strings."""
    totals = pre_invoice_totals(pre_invoice)
    return {
        "pre_invoice": pre_invoice.pk,
        "number": pre_invoice.number,
        "creditor": pre_invoice.creditor.code,
        "period_start": pre_invoice.period_start.isoformat(),
        "period_end": pre_invoice.period_end.isoformat(),
        "state": pre_invoice.state,
        "lines": totals.lines,
        "collected": str(totals.collected),
        "commission": str(totals.commission),
        "vat_rate": str(totals.vat_rate),
        "vat": str(totals.vat),
        "total": str(totals.total),
    }


def form_messages(errors: dict[str, Any]) -> str:
    """Field errors as one line: "rate: Ensure this value is less than or equal to 100."."""
    parts = []
    for field, messages in errors.items():
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            for index, tier in enumerate(messages, 1):
                for name, texts in tier.items():
                    parts.append(f"tier {index} {name}: {' '.join(map(str, texts))}")
        elif field == "non_field_errors":
            parts.append(" ".join(map(str, messages)))
        else:
            parts.append(f"{field}: {' '.join(map(str, messages))}")
    return "; ".join(parts)
