"""Demo data: two creditors, two users, a worked portfolio and example files to upload."""

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Role, User
from billing.models import CommissionBasis, CommissionTerms
from cases.models import Case, InstallmentStatus, Payment, PaymentState
from cases.payments import advance_payment, record_payment
from creditors.models import Creditor
from creditors.services import ensure_creditor
from imports import samplegen
from imports.models import ImportJob, JobStatus, Layout
from imports.samplegen_prefattura import write_prefattura_csv
from imports.services import run_import, submit_import

DEMO_USERS = (
    ("admin", "incasso-admin", Role.ADMINISTRATOR),
    ("operatore", "incasso-operatore", Role.OPERATOR),
)


class Command(BaseCommand):
    help = "Load demo creditors, users and a portfolio, and write example files to upload."

    def handle(self, *args: Any, **options: Any) -> None:
        compass, _ = ensure_creditor("COMPASS", "Compass Banca S.p.A.")
        axactor, _ = ensure_creditor("AXACTOR", "Axactor Italy S.p.A.")
        self._billing_details(compass, axactor)
        for username, password, role in DEMO_USERS:
            if not User.objects.filter(username=username).exists():
                user = User.objects.create_user(username=username, password=password, role=role)
                user.is_staff = user.is_superuser = role == Role.ADMINISTRATOR
                user.save()
                user.creditors.add(compass)
        admin = User.objects.get(username="admin")

        # The worked portfolio: loaded and with unpaid installments applied, so no page is empty.
        loaded = samplegen.generate_portfolio(cases=300, seed=1, batch_code="CMP-DEMO-001")
        self._load(admin, compass, "compass-affido", "demo_affido.csv", loaded.write_csv)
        self._load(
            admin,
            compass,
            "compass-insoluti",
            "demo_insoluti.csv",
            lambda stream: samplegen.write_insoluti_csv(
                loaded,
                stream,
                found=40,
                amount_mismatch=3,
                due_date_mismatch=3,
                payment_method_mismatch=3,
                contract_not_found=3,
                duplicates=2,
            ),
        )

        self._record_payments(admin)

        # Files for the user to upload: a new batch and its unpaid installments.
        examples = Path(settings.VAR_DIR) / "examples"
        examples.mkdir(parents=True, exist_ok=True)
        fresh = samplegen.generate_portfolio(
            cases=200, seed=2, batch_code="CMP-DEMO-002", first_contract=20_000_000
        )
        with (examples / "compass_affido_esempio.csv").open("wb") as stream:
            fresh.write_csv(stream)
        with (examples / "compass_insoluti_esempio.csv").open("wb") as stream:
            samplegen.write_insoluti_csv(
                fresh,
                stream,
                found=60,
                amount_mismatch=5,
                due_date_mismatch=5,
                payment_method_mismatch=5,
                contract_not_found=5,
                installment_not_found=2,
                duplicates=3,
            )
        write_prefattura_csv(
            fresh,
            examples / "compass_prefattura_esempio.csv",
            matched=50,
            two_installments=5,
            amount_not_matched=3,
            contract_not_found=2,
        )
        self.stdout.write(f"Demo data ready. Example files to upload: {examples}")

    def _billing_details(self, compass: Creditor, axactor: Creditor) -> None:
        """Fictitious VAT numbers (FatturaPA needs the customer's) and commission terms: a flat
        12% for Compass, a rate by case age for Axactor. Existing values are left alone."""
        for creditor, vat_number in ((compass, "03123450151"), (axactor, "04987650159")):
            if not creditor.vat_number:
                creditor.vat_number = vat_number
                creditor.save(update_fields=["vat_number"])
        CommissionTerms.objects.get_or_create(
            creditor=compass, batch=None, defaults={"rate": Decimal("12.00")}
        )
        terms, created = CommissionTerms.objects.get_or_create(
            creditor=axactor,
            batch=None,
            defaults={"basis": CommissionBasis.CASE_AGE, "rate": Decimal("18.00")},
        )
        if created:
            terms.tiers.create(threshold=Decimal(180), rate=Decimal("15.00"))
            terms.tiers.create(threshold=Decimal(365), rate=Decimal("10.00"))

    def _load(self, user: User, creditor: Any, slug: str, name: str, write: Any) -> None:
        import io

        applied = ImportJob.objects.filter(
            creditor=creditor, original_name=name, status=JobStatus.DONE, dry_run=False
        )
        if applied.exists():
            # Loaded by an earlier run: submitting it again would only add an "already
            # applied" job to the list at every start.
            self.stdout.write(f"{name}: already loaded")
            return
        stream = io.BytesIO()
        write(stream)
        job = submit_import(
            user=user,
            creditor=creditor,
            layout=Layout.objects.get(slug=slug),
            name=name,
            data=stream.getvalue(),
        )
        if job.status == JobStatus.QUEUED:
            job = run_import(job.pk)
        self.stdout.write(f"{name}: {job.status}")

    def _record_payments(self, user: User) -> None:
        """A few payments on cases reported unpaid, whole and partial, some already collected,
        so case pages show allocations, states and history. Once only."""
        batch = "CMP-DEMO-001"
        if Payment.objects.filter(case__batch__code=batch).exists():
            return
        cases = (
            Case.objects.filter(batch__code=batch, installments__status=InstallmentStatus.UNPAID)
            .distinct()
            .order_by("pk")[:6]
        )
        today = timezone.localdate()
        for index, case in enumerate(cases):
            first = case.installments.filter(status=InstallmentStatus.UNPAID).first()
            if first is None:
                continue
            amount = (
                first.amount if index % 2 == 0 else (first.amount / 2).quantize(Decimal("0.01"))
            )
            paid_on = today - datetime.timedelta(days=10 - index)
            payment = record_payment(case, paid_on, amount, "agency", user)
            if index < 3:
                advance_payment(payment, PaymentState.COLLECTED, user)
        self.stdout.write(f"Payments recorded on {len(cases)} demo cases.")
