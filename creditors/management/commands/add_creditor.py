from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from stdnum.it import iva

from accounts.models import AuditAction
from accounts.services import record_event
from billing.fatturapa import split_vat_number
from creditors.services import ensure_creditor


class Command(BaseCommand):
    help = "Create a creditor if it does not exist yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Short unique code, e.g. COMPASS")
        parser.add_argument("name", help="Legal name, e.g. 'Compass Banca S.p.A.'")
        parser.add_argument(
            "--vat-number",
            help="The creditor's VAT number (partita IVA), which its FatturaPA invoices need; "
            "given for an existing creditor, it replaces the one it has",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        vat_number = options["vat_number"]
        if vat_number is not None:
            vat_number = checked_vat_number(vat_number)
        creditor, created = ensure_creditor(options["code"], options["name"])
        state = "created" if created else "already present"
        if vat_number is not None and vat_number != creditor.vat_number:
            before = {"vat_number": creditor.vat_number}
            creditor.vat_number = vat_number
            creditor.save(update_fields=["vat_number"])
            record_event(
                None,
                AuditAction.UPDATE,
                creditor,
                summary="VAT number from add_creditor",
                before=before,
                after={"vat_number": vat_number},
            )
            state += f", VAT number {vat_number}"
        self.stdout.write(f"{creditor.code}: {state}")


def checked_vat_number(text: str) -> str:
    """An Italian partita IVA, with or without "IT", checked; a foreign one (two letters in
    front) as given, as the FatturaPA export splits it."""
    country, code = split_vat_number(text)
    if country != "IT":
        return country + code
    if not iva.is_valid(code):
        raise CommandError(f"--vat-number {text!r} is not a valid Italian VAT number.")
    return code
