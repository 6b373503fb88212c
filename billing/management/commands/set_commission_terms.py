"""Set a creditor's commission terms, or a batch's own, from the command line, as the terms page
does: the same checks, the same audit."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from billing.models import CommissionBasis, CommissionTerms
from billing.serializers import terms_errors, terms_forms
from billing.services import save_terms
from creditors.models import Creditor

from ._base import COMMAND_LINE, BillingCommand, form_messages


class Command(BillingCommand):
    help = (
        "Set the commission terms of a creditor (or of one of its batches, with --batch) as a "
        "whole: what is not given is cleared (no tiers, no cap). "
        "Exit status 1 when the creditor or batch is not found or the terms are refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("creditor", help="Creditor code, e.g. COMPASS")
        parser.add_argument("--batch", help="Batch code: terms of that batch only")
        parser.add_argument("--rate", required=True, help="Commission rate in percent, e.g. 12.5")
        parser.add_argument("--basis", choices=CommissionBasis.values, default=CommissionBasis.FLAT)
        parser.add_argument(
            "--tier",
            action="append",
            default=[],
            metavar="FROM:RATE",
            help="A tier of a tiered basis, e.g. 90:15 (from 90 days, or euro, 15%%); repeat it",
        )
        parser.add_argument("--cap", help="Most commission on one case, in euro")
        self.add_json_argument(parser)

    def act(self, options: dict[str, Any]) -> dict[str, Any]:
        creditor = Creditor.objects.filter(code=options["creditor"].upper()).first()
        if creditor is None:
            raise CommandError(f"No creditor with code {options['creditor']}.")
        batch = None
        if options["batch"]:
            batch = creditor.batches.filter(code=options["batch"]).first()
            if batch is None:
                raise CommandError(f"Creditor {creditor.code} has no batch {options['batch']}.")
        existing = CommissionTerms.objects.filter(creditor=creditor, batch=batch).first()
        terms = existing or CommissionTerms(creditor=creditor, batch=batch)
        tiers = [parse_tier(text) for text in options["tier"]]
        form, formset = terms_forms(terms, options["basis"], options["rate"], options["cap"], tiers)
        if form.errors or not formset.is_valid():
            raise CommandError(form_messages(terms_errors(form, formset)))
        saved = save_terms(form.save(commit=False), formset, COMMAND_LINE)
        saved.refresh_from_db()  # the rate and cap as stored, to the cent
        return {
            "status": "updated" if existing else "created",
            "terms": saved.pk,
            "creditor": creditor.code,
            "batch": batch.code if batch else None,
            "basis": saved.basis,
            "rate": str(saved.rate),
            "cap": None if saved.cap is None else str(saved.cap),
            "tiers": [
                {"threshold": str(t.threshold), "rate": str(t.rate)}
                for t in saved.tiers.order_by("threshold")
            ],
        }


def parse_tier(text: str) -> tuple[str, str]:
    threshold, colon, rate = text.partition(":")
    if not colon or not threshold.strip() or not rate.strip():
        raise CommandError(f"--tier {text!r} is not FROM:RATE, e.g. 90:15.")
    return threshold.strip(), rate.strip()
