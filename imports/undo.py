"""Undoing an applied import job: what it created is deleted, what it changed is restored.

An undo is refused, with the reasons, while anything done after the job depends on what it
wrote; otherwise it runs set-wise in one transaction and the job ends `undone`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import AuditAction, User
from accounts.services import record_event
from billing.models import PreInvoice, PreInvoiceState
from cases.models import (
    ZERO,
    Address,
    Case,
    CaseParty,
    Contact,
    Debtor,
    Installment,
    InstallmentStatus,
    Note,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentState,
)
from creditors.models import Batch
from imports.models import ImportJob, ImportKind, ImportRow, JobStatus, RowOutcome

logger = logging.getLogger(__name__)

# How many contracts or debtors a reason names before saying how many more there are.
SHOWN = 5
# How many later jobs a reason lists one by one.
JOBS_SHOWN = 10


class UndoRefused(Exception):
    """The job cannot be undone; `reasons` say what stands in the way."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


def undo_blockers(job: ImportJob) -> list[str]:
    """What stands in the way of undoing the job, in sentences for the user; empty when nothing."""
    reasons = _state_blockers(job)
    if reasons:
        return reasons
    if job.kind == ImportKind.ACQUISITION:
        return _acquisition_blockers(job)
    if job.kind == ImportKind.PRE_INVOICE:
        return _pre_invoice_blockers(job)
    return _unpaid_blockers(job)


def undo_effects(job: ImportJob) -> dict[str, int]:
    """What an undo of the job would delete or restore, counted, for the confirmation page."""
    if job.kind == ImportKind.ACQUISITION:
        cases = Case.objects.filter(created_job=job)
        return {
            "cases": cases.count(),
            "installments": Installment.objects.filter(case__in=cases).count(),
            "debtors": Debtor.objects.filter(created_job=job).count(),
            "addresses": Address.objects.filter(created_job=job).count(),
            "contacts": Contact.objects.filter(created_job=job).count(),
        }
    if job.kind == ImportKind.PRE_INVOICE:
        return _pre_invoice_effects(job)
    return {
        "installments": Installment.objects.filter(unpaid_job=job).count(),
        "notes": Note.objects.filter(job=job).count(),
    }


def undo_job(job: ImportJob, user: User | None) -> None:
    """Take back everything the applied job wrote, in one transaction, or refuse with reasons."""
    with transaction.atomic():
        # Locked, so two undos of one job run one after the other and the second is refused.
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        reasons = undo_blockers(locked)
        if reasons:
            raise UndoRefused(reasons)
        if locked.kind == ImportKind.ACQUISITION:
            effects = _undo_acquisition(locked)
        elif locked.kind == ImportKind.PRE_INVOICE:
            effects = _undo_pre_invoice(locked)
        else:
            effects = _undo_unpaid(locked)
        locked.status = JobStatus.UNDONE
        locked.undone_at = timezone.now()
        locked.undone_by = user
        locked.save(update_fields=["status", "undone_at", "undone_by"])
        record_event(
            user,
            AuditAction.UPDATE,
            locked,
            summary="undo",
            before={"status": JobStatus.DONE.value},
            after={"status": JobStatus.UNDONE.value, **effects},
        )
    job.status, job.undone_at, job.undone_by = locked.status, locked.undone_at, locked.undone_by
    logger.info("import job %s undone: %s", job.pk, effects)


# Blockers


def _state_blockers(job: ImportJob) -> list[str]:
    if job.status == JobStatus.UNDONE:
        when = timezone.localtime(job.undone_at).strftime("%d/%m/%Y %H:%M") if job.undone_at else ""
        return [_("This job was already undone on %(when)s.") % {"when": when}]
    if job.dry_run:
        return [_("A preview applied nothing, so there is nothing to undo.")]
    if job.status != JobStatus.DONE:
        return [_("Only a completed job that applied its file can be undone.")]
    applying = ImportJob.objects.filter(status=JobStatus.APPLYING, dry_run=False).exclude(pk=job.pk)
    if applying.exists():
        return [_("Another file is being applied right now: try again when it has finished.")]
    return []


def _acquisition_blockers(job: ImportJob) -> list[str]:
    cases = Case.objects.filter(created_job=job)
    referring = ImportRow.objects.filter(
        case__in=cases, job__status=JobStatus.DONE, job__dry_run=False
    ).exclude(job=job)
    reasons = []
    for other in _job_ids(referring, "job_id"):
        reasons.append(
            _(
                "Job #%(job)s refers to contract(s) %(contracts)s, loaded by this job: undo job "
                "#%(job)s first."
            )
            % {
                "job": other,
                "contracts": _listing(referring.filter(job_id=other), "contract_number"),
            }
        )
    reasons += _reassignment_blockers(cases)
    # Changes a later job explains are named above with that job; these came another way.
    untold = cases.exclude(pk__in=referring.values("case_id"))
    reasons += _case_work_blockers(job, cases, untold)
    return reasons + _debtor_blockers(job, cases)


def _case_work_blockers(job: ImportJob, cases: QuerySet[Case], untold: QuerySet[Case]) -> list[str]:
    """Work recorded on the job's cases since: deleting the cases would delete it too."""
    # TODO: activities, promises and whatever else comes to hang on a case must block here too;
    # until they do, the database's foreign keys refuse the delete and the user gets an error.
    changed = Installment.objects.filter(case__in=untold).filter(
        ~Q(created_job=job)
        | ~Q(status=InstallmentStatus.DUE)
        | ~Q(fees=ZERO)
        | Q(unpaid_on__isnull=False)
        | Q(unpaid_job__isnull=False)
    )
    with_more_parties = (
        cases.annotate(parties_count=Count("parties")).filter(parties_count__gt=1).values("pk")
    )
    added_parties = CaseParty.objects.filter(case__in=with_more_parties)
    # An assignment in several files gave its cases co-obligors and guarantors itself.
    if "parties_created" in job.counts:
        given = CaseParty.objects.filter(case__in=cases).count() <= job.counts["parties_created"]
        added_parties = added_parties.none() if given else added_parties
    checks: list[tuple[QuerySet[Any], str]] = [
        (changed, _("Installments of contract(s) %(contracts)s were added or changed later.")),
        (
            Payment.objects.filter(case__in=cases),
            _("Payments were registered on contract(s) %(contracts)s."),
        ),
        (
            Note.objects.filter(case__in=cases, job__isnull=True),
            _("Notes were written on contract(s) %(contracts)s."),
        ),
        (
            added_parties,
            _("Other parties were added to contract(s) %(contracts)s."),
        ),
    ]
    return [
        message % {"contracts": _listing(queryset, "case__contract_number")}
        for queryset, message in checks
        if queryset.exists()
    ]


def _reassignment_blockers(cases: QuerySet[Case]) -> list[str]:
    later = Case.objects.filter(previous__in=cases)
    reasons = []
    for other in _job_ids(later, "created_job_id"):
        earlier = later.filter(created_job_id=other).values("previous_id")
        contracts = _listing(cases.filter(pk__in=earlier), "contract_number")
        if other is None:
            reasons.append(
                _("Contract(s) %(contracts)s, loaded by this job, were re-assigned later.")
                % {"contracts": contracts}
            )
        else:
            reasons.append(
                _(
                    "Job #%(job)s re-assigned contract(s) %(contracts)s, loaded by this job: "
                    "undo job #%(job)s first."
                )
                % {"job": other, "contracts": contracts}
            )
    return reasons


def _debtor_blockers(job: ImportJob, cases: QuerySet[Case]) -> list[str]:
    """Debtors this job created or gave addresses and contacts to, that later cases share.

    A later file may have skipped an address or contact because this job had added it, and a
    debtor with other cases cannot go: both would leave the later cases short.
    """
    touched = Debtor.objects.filter(
        Q(created_job=job)
        | Q(pk__in=Address.objects.filter(created_job=job).values("debtor_id"))
        | Q(pk__in=Contact.objects.filter(created_job=job).values("debtor_id"))
    )
    # Cases made after this job's have higher ids; those made before do not depend on it.
    first_case = cases.aggregate(first=Min("pk"))["first"] or 0
    shared = (
        CaseParty.objects.filter(debtor__in=touched, case_id__gt=first_case)
        .exclude(case__in=cases)
        .annotate(later_job=F("case__created_job_id"))
    )
    reasons = []
    for other in _job_ids(shared, "later_job"):
        debtors = _listing(shared.filter(later_job=other), "debtor__name")
        if other is None:
            reasons.append(
                _("Debtor(s) %(debtors)s, on cases of this job, are on cases added later too.")
                % {"debtors": debtors}
            )
        else:
            reasons.append(
                _(
                    "Debtor(s) %(debtors)s, on cases of this job, are on cases loaded later by "
                    "job #%(job)s too: undo job #%(job)s first."
                )
                % {"job": other, "debtors": debtors}
            )
    added = Debtor.objects.filter(created_job=job).filter(
        Exists(Address.objects.filter(debtor=OuterRef("pk")).exclude(created_job=job))
        | Exists(Contact.objects.filter(debtor=OuterRef("pk")).exclude(created_job=job))
    )
    if added.exists():
        reasons.append(
            _("Addresses or contacts were added later to debtor(s) %(debtors)s.")
            % {"debtors": _listing(added, "name")}
        )
    return reasons


def _unpaid_blockers(job: ImportJob) -> list[str]:
    found = ImportRow.objects.filter(job=job, outcome=RowOutcome.FOUND, installment__isnull=False)
    reasons = []
    later = ImportRow.objects.filter(
        installment__in=found.values("installment_id"),
        job__status=JobStatus.DONE,
        job__dry_run=False,
        job__finished_at__gt=job.finished_at,
    ).exclude(job=job)
    for other in _job_ids(later, "job_id"):
        reasons.append(
            _(
                "Job #%(job)s matched installments of contract(s) %(contracts)s again: undo job "
                "#%(job)s first."
            )
            % {"job": other, "contracts": _listing(later.filter(job_id=other), "contract_number")}
        )
    # Still as this job left them: unpaid by it, with the fees and date of its row.
    changed = found.exclude(
        installment__unpaid_job=job,
        installment__status=InstallmentStatus.UNPAID,
        installment__fees=F("fees"),
        installment__unpaid_on=F("unpaid_on"),
    )
    if changed.exists():
        reasons.append(
            _("Installments of contract(s) %(contracts)s were changed after this job.")
            % {"contracts": _listing(changed, "contract_number")}
        )
    # Only payments registered since the file was uploaded: one recorded before is not later work.
    paid = Payment.objects.filter(
        allocations__installment__in=found.values("installment_id"),
        created_at__gte=job.created_at,
    )
    if paid.exists():
        reasons.append(
            _("Payments were registered on installments of contract(s) %(contracts)s.")
            % {"contracts": _listing(paid, "case__contract_number")}
        )
    return reasons


def _job_ids(queryset: QuerySet[Any], field: str) -> list[int | None]:
    """The distinct job ids in `field`, oldest first, jobs entered by hand (None) last."""
    ids = set(queryset.order_by().values_list(field, flat=True).distinct()[: JOBS_SHOWN + 1])
    return sorted(ids, key=lambda pk: (pk is None, pk or 0))[:JOBS_SHOWN]


def _listing(queryset: QuerySet[Any], field: str) -> str:
    """Up to SHOWN distinct values of `field`, then how many more: enough to find them."""
    values = queryset.order_by(field).values_list(field, flat=True).distinct()
    shown = [str(value) for value in values[: SHOWN + 1]]
    if len(shown) <= SHOWN:
        return ", ".join(shown)
    more = values.count() - SHOWN
    return ngettext("%(values)s and %(count)s more", "%(values)s and %(count)s more", more) % {
        "values": ", ".join(shown[:SHOWN]),
        "count": more,
    }


# Undo


def _execute(sql: str, **params: Any) -> int:
    """Run one set-wise statement; the tables are named as in the models."""
    tables = {
        "row": ImportRow._meta.db_table,
        "installment": Installment._meta.db_table,
        "case": Case._meta.db_table,
        "debtor": Debtor._meta.db_table,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**tables), params)
        return cursor.rowcount


def _undo_acquisition(job: ImportJob) -> dict[str, int]:
    """Delete the job's cases with their installments and parties, the addresses and contacts
    it added, the debtors it created and the batches it created that are left empty.

    The blockers guarantee that nothing else refers to these rows but the reports of jobs
    (their links are cleared); the database's foreign keys still refuse anything missed.
    """
    cases = Case.objects.filter(created_job=job)
    batch_ids = list(cases.order_by().values_list("batch_id", flat=True).distinct())
    installments = Installment.objects.filter(case__in=cases)
    ImportRow.objects.filter(case__in=cases).update(case=None)
    ImportRow.objects.filter(installment__in=installments).update(installment=None)
    ImportRow.objects.filter(closest__in=installments).update(closest=None)

    # Installments, cases and debtors have rows pointing at them, so Django's delete would
    # load every one to follow those links: plain DELETEs instead, the links cleared above.
    effects = {
        "installments": _execute(
            "DELETE FROM {installment} WHERE case_id IN "
            "(SELECT id FROM {case} WHERE created_job_id = %(job)s)",
            job=job.pk,
        ),
    }
    CaseParty.objects.filter(case__in=cases).delete()
    effects["cases"] = _execute("DELETE FROM {case} WHERE created_job_id = %(job)s", job=job.pk)
    effects["addresses"], _deleted = Address.objects.filter(created_job=job).delete()
    effects["contacts"], _deleted = Contact.objects.filter(created_job=job).delete()
    effects["debtors"] = _execute("DELETE FROM {debtor} WHERE created_job_id = %(job)s", job=job.pk)

    # A batch created by this job, or by a job undone before, goes once no case is left in it.
    empty = Batch.objects.filter(Q(pk__in=batch_ids) | Q(created_job=job)).filter(
        Q(created_job=job) | Q(created_job__status=JobStatus.UNDONE),
        ~Exists(Case.objects.filter(batch=OuterRef("pk"))),
    )
    effects["batches"] = empty.delete()[1].get(Batch._meta.label, 0)
    return effects


def _undo_unpaid(job: ImportJob) -> dict[str, int]:
    """Give each installment the job found its status, fees and unpaid date from before, and
    delete the job's notes; a case stays flagged for review only while it has unpaid
    installments left."""
    restored = _execute(
        """
        UPDATE {installment} SET status = r.previous_status, fees = r.previous_fees,
            unpaid_on = r.previous_unpaid_on, unpaid_job_id = NULL
        FROM {row} r
        WHERE r.job_id = %(job)s AND r.outcome = %(found)s
          AND r.installment_id = {installment}.id AND {installment}.unpaid_job_id = %(job)s
        """,
        job=job.pk,
        found=RowOutcome.FOUND,
    )
    notes, _deleted = Note.objects.filter(job=job).delete()
    found = ImportRow.objects.filter(job=job, outcome=RowOutcome.FOUND).order_by()
    unpaid_left = Installment.objects.filter(case=OuterRef("pk"), status=InstallmentStatus.UNPAID)
    unflagged = (
        Case.objects.filter(pk__in=found.values("case_id"), needs_attention=True)
        .filter(~Exists(unpaid_left))
        .update(needs_attention=False)
    )
    return {"installments": restored, "notes": notes, "cases_unflagged": unflagged}


# Pre-invoice


def _pre_invoice_blockers(job: ImportJob) -> list[str]:
    """A confirmed pre-invoice is final; payments or installments changed since the job would
    be restored over those changes."""
    reasons = []
    confirmed = PreInvoice.objects.filter(job=job, state=PreInvoiceState.CONFIRMED).first()
    if confirmed is not None:
        reasons.append(
            _("The pre-invoice %(number)s made by this job was confirmed: it cannot change.")
            % {"number": confirmed}
        )
    payments = Payment.objects.filter(
        pk__in=ImportRow.objects.filter(job=job, outcome=RowOutcome.MATCHED).values("payment_id")
    )
    moved = payments.exclude(state=PaymentState.COMMISSIONED, commissioned_job=job)
    # Commissions computed again on the job's draft change nothing the undo would not clear.
    recomputed = Q(from_state=PaymentState.COMMISSIONED, to_state=PaymentState.COMMISSIONED)
    touched = payments.filter(
        Exists(
            PaymentEvent.objects.filter(payment=OuterRef("pk"), at__gt=job.finished_at)
            .exclude(job=job)
            .exclude(recomputed)
        )
    )
    if moved.exists() or touched.exists():
        reasons.append(
            _("Payments of contract(s) %(contracts)s were changed after this job.")
            % {"contracts": _listing(moved | touched, "case__contract_number")}
        )
    # Taken off the job's draft and put on another pre-invoice: the undo would delete or reopen
    # payments under it, even once it is confirmed.
    elsewhere = payments.filter(pre_invoice__isnull=False).exclude(pre_invoice__job=job)
    if elsewhere.exists():
        others = PreInvoice.objects.filter(pk__in=elsewhere.values("pre_invoice_id"))
        reasons.append(
            _(
                "Payments of contract(s) %(contracts)s are on pre-invoice %(pre_invoices)s, made "
                "after this job."
            )
            % {
                "contracts": _listing(elsewhere, "case__contract_number"),
                "pre_invoices": ", ".join(str(p) for p in others.order_by("pk")[:SHOWN]),
            }
        )
    allocated = PaymentAllocation.objects.filter(payment__created_job=job)
    installments = Installment.objects.filter(pk__in=allocated.values("installment_id"))
    later = PaymentAllocation.objects.filter(installment__in=installments).exclude(
        payment__created_job=job
    )
    changed = installments.exclude(status=InstallmentStatus.PAID)
    if later.exists() or changed.exists():
        reasons.append(
            _("Installments of contract(s) %(contracts)s were paid or changed after this job.")
            % {"contracts": _listing(installments, "case__contract_number")}
        )
    return reasons


def _pre_invoice_effects(job: ImportJob) -> dict[str, int]:
    matched = ImportRow.objects.filter(job=job, outcome=RowOutcome.MATCHED)
    created = Payment.objects.filter(created_job=job)
    return {
        "payments_restored": matched.exclude(payment__in=created).count(),
        "payments_deleted": created.count(),
        "installments": PaymentAllocation.objects.filter(payment__in=created).count(),
        "pre_invoices": PreInvoice.objects.filter(job=job).count(),
    }


def _undo_pre_invoice(job: ImportJob) -> dict[str, int]:
    """Give the registered payments their state from before, take the created payments' amounts
    off their installments, delete those payments with their allocations, the job's payment
    events and its draft pre-invoice."""
    payment, allocation = Payment._meta.db_table, PaymentAllocation._meta.db_table
    effects = {
        "payments_restored": _execute(
            f"""
            UPDATE {payment} SET state = r.previous_status,
                collected_on = CASE WHEN r.previous_status = %(reported)s THEN NULL
                    ELSE {payment}.collected_on END,
                commissioned_on = NULL, commission_rate = NULL, commission = NULL,
                pre_invoice_id = NULL, commissioned_job_id = NULL
            FROM {{row}} r
            WHERE r.job_id = %(job)s AND r.outcome = %(matched)s AND r.payment_id = {payment}.id
              AND r.previous_status <> '' AND {payment}.commissioned_job_id = %(job)s
            """,  # noqa: S608 - table names come from the models
            job=job.pk,
            matched=RowOutcome.MATCHED,
            reported=PaymentState.REPORTED,
        ),
        "installments": _execute(
            f"""
            UPDATE {{installment}} SET paid_amount = {{installment}}.paid_amount - s.total,
                status = s.previous_status
            FROM (
                SELECT a.installment_id, SUM(a.amount) AS total,
                    MIN(a.previous_status) AS previous_status
                FROM {allocation} a JOIN {payment} p ON p.id = a.payment_id
                WHERE p.created_job_id = %(job)s GROUP BY a.installment_id
            ) s
            WHERE {{installment}}.id = s.installment_id
            """,  # noqa: S608 - table names come from the models
            job=job.pk,
        ),
    }
    created = Payment.objects.filter(created_job=job)
    PaymentEvent.objects.filter(job=job).delete()
    # Commissions computed again on the draft, which the undo takes back with the commission.
    PaymentEvent.objects.filter(
        payment__in=ImportRow.objects.filter(job=job, outcome=RowOutcome.MATCHED).values(
            "payment_id"
        ),
        at__gt=job.finished_at,
        from_state=PaymentState.COMMISSIONED,
        to_state=PaymentState.COMMISSIONED,
    ).delete()
    PaymentAllocation.objects.filter(payment__in=created).delete()
    ImportRow.objects.filter(payment__in=created).update(payment=None)
    effects["payments_deleted"] = _execute(
        f"DELETE FROM {payment} WHERE created_job_id = %(job)s",  # noqa: S608 - model's table
        job=job.pk,
    )
    effects["pre_invoices"], _deleted = PreInvoice.objects.filter(job=job).delete()
    return effects
