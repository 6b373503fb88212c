"""Pre-invoices from the command line, as on their pages: draft one for a creditor and period,
confirm it, export it as XLSX, PDF or the agency's FatturaPA invoice."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from accounts.models import AuditAction
from accounts.services import record_event
from billing import documents
from billing.fatturapa import (
    CREDITOR_FIELDS,
    InvoiceDetails,
    InvoiceInvalid,
    export_invoice,
    known_details,
)
from billing.forms import InvoiceExportForm
from billing.models import PreInvoice
from billing.services import (
    BillingRefused,
    confirm_pre_invoice,
    create_pre_invoice,
    recalculate_commissions,
)
from creditors.models import Creditor
from imports.serializers import form_errors

from ._base import COMMAND_LINE, BillingCommand, describe_pre_invoice, form_messages

FORMATS = ("xlsx", "pdf", "fatturapa")


class Command(BillingCommand):
    help = (
        "Pre-invoices: `create --creditor C --from YYYY-MM-DD --to YYYY-MM-DD`, `confirm ID`, "
        "`recalculate ID`, "
        "`export ID --format xlsx|pdf|fatturapa -o FILE`. ID is the id or the number "
        "(PF-2026-0001). Exit status 1 when the pre-invoice is not found or the action refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Draft a pre-invoice of a creditor's period")
        create.add_argument("--creditor", required=True, help="Creditor code, e.g. COMPASS")
        create.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        create.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD")
        self.add_json_argument(create)

        confirm = actions.add_parser("confirm", help="Confirm a draft: numbered and locked")
        confirm.add_argument("id", help="Pre-invoice id or number")
        self.add_json_argument(confirm)

        recalculate = actions.add_parser(
            "recalculate", help="Compute a draft's commissions again with the current terms"
        )
        recalculate.add_argument("id", help="Pre-invoice id or number")
        self.add_json_argument(recalculate)

        export = actions.add_parser(
            "export", help="Write the XLSX, the PDF or the FatturaPA invoice to a file"
        )
        export.add_argument("id", help="Pre-invoice id or number")
        export.add_argument("--format", choices=FORMATS, required=True)
        export.add_argument("-o", "--output", type=Path, required=True, help="File to write")
        invoice = export.add_argument_group(
            "FatturaPA (exporting marks the pre-invoice's payments invoiced)"
        )
        invoice.add_argument(
            "--invoice-number", help="The invoice's number; default the pre-invoice's"
        )
        invoice.add_argument("--invoice-date", help="YYYY-MM-DD; default today")
        invoice.add_argument("--street", help="The customer's address")
        invoice.add_argument("--postcode")
        invoice.add_argument("--city")
        invoice.add_argument("--province")
        invoice.add_argument("--country", help="Default IT")
        invoice.add_argument("--recipient-code", help="SDI code; default 0000000")
        invoice.add_argument("--pec", help="The customer's PEC, with code 0000000")
        self.add_json_argument(export)

    def act(self, options: dict[str, Any]) -> dict[str, Any]:
        action = options["action"]
        if action == "create":
            return self.create(options)
        pre_invoice = find_pre_invoice(options["id"])
        if action == "confirm":
            try:
                confirmed = confirm_pre_invoice(pre_invoice, COMMAND_LINE)
            except BillingRefused as exc:
                raise CommandError(str(exc)) from exc
            return {"status": "confirmed", **describe_pre_invoice(confirmed)}
        if action == "recalculate":
            try:
                changed = recalculate_commissions(pre_invoice, COMMAND_LINE)
            except BillingRefused as exc:
                raise CommandError(str(exc)) from exc
            pre_invoice.refresh_from_db()
            return {
                "status": "recalculated",
                "changed": changed,
                **describe_pre_invoice(pre_invoice),
            }
        return self.export(pre_invoice, options)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        creditor = Creditor.objects.filter(code=options["creditor"].upper()).first()
        if creditor is None:
            raise CommandError(f"No creditor with code {options['creditor']}.")
        start = parse_date("--from", options["start"])
        end = parse_date("--to", options["end"])
        try:
            pre_invoice = create_pre_invoice(creditor, start, end, COMMAND_LINE)
        except BillingRefused as exc:
            raise CommandError(str(exc)) from exc
        return {"status": "created", **describe_pre_invoice(pre_invoice)}

    def export(self, pre_invoice: PreInvoice, options: dict[str, Any]) -> dict[str, Any]:
        fmt = options["format"]
        details = invoice_details(options, pre_invoice) if fmt == "fatturapa" else None
        path: Path = options["output"]
        try:
            # Opened first: an unwritable path must not leave payments marked invoiced.
            output = path.open("wb")
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}") from exc
        with output:
            try:
                output.write(render(pre_invoice, fmt, details))
            except BaseException:
                output.close()
                path.unlink(missing_ok=True)
                raise
        return {
            "status": "exported",
            "format": fmt,
            "file": str(path),
            "bytes": path.stat().st_size,
            **describe_pre_invoice(pre_invoice),
        }


def render(pre_invoice: PreInvoice, fmt: str, details: InvoiceDetails | None) -> bytes:
    if details is not None:
        try:
            return export_invoice(pre_invoice, details, COMMAND_LINE)
        except InvoiceInvalid as exc:
            raise CommandError(f"{exc} {' '.join(exc.errors)}") from exc
        except BillingRefused as exc:
            raise CommandError(str(exc)) from exc
    summary = f"{fmt.upper()} download"
    record_event(COMMAND_LINE, AuditAction.VIEW, pre_invoice, summary=summary)
    if fmt == "pdf":
        return documents.write_pdf(pre_invoice)
    stream = io.BytesIO()
    documents.write_xlsx(pre_invoice, stream)
    return stream.getvalue()


def invoice_details(options: dict[str, Any], pre_invoice: PreInvoice) -> InvoiceDetails:
    """The invoice options checked by the export page's form; an option not given takes what
    is known (the invoice already issued, the creditor's address as last used), else its
    default."""
    given = {
        "number": options["invoice_number"],
        "date": options["invoice_date"],
        **{field: options[field] for field in CREDITOR_FIELDS},
    }
    known = known_details(pre_invoice)
    if given["recipient_code"] is not None or given["pec"] is not None:
        # How the exchange system reaches the customer is one choice: a code given alone does
        # not keep the PEC last used, nor a PEC the code.
        known.pop("recipient_code", None)
        known.pop("pec", None)
    defaults = {
        # As the export page offers: the pre-invoice's own number.
        "number": pre_invoice.number,
        "date": timezone.localdate().isoformat(),
        "country": "IT",
        "recipient_code": "0000000",
    }
    form = InvoiceExportForm(
        {
            name: value if value is not None else known.get(name, defaults.get(name, ""))
            for name, value in given.items()
        }
    )
    if not form.is_valid():
        # Named after the options that set them: --invoice-number, not the form's "number".
        errors = {OPTION_NAMES.get(name, name): e for name, e in form_errors(form).items()}
        raise CommandError(form_messages(errors))
    return InvoiceDetails(**form.cleaned_data)


OPTION_NAMES = {
    "number": "--invoice-number",
    "date": "--invoice-date",
    "street": "--street",
    "postcode": "--postcode",
    "city": "--city",
    "province": "--province",
    "country": "--country",
    "recipient_code": "--recipient-code",
    "pec": "--pec",
}


def find_pre_invoice(reference: str) -> PreInvoice:
    pre_invoices = PreInvoice.objects.select_related("creditor")
    found = (
        pre_invoices.filter(pk=int(reference)).first()
        if reference.isdigit()
        else pre_invoices.filter(number=reference.upper()).first()
    )
    if found is None:
        raise CommandError(f"No pre-invoice {reference}.")
    return found


def parse_date(option: str, text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option} {text!r} is not a date as YYYY-MM-DD.") from exc
