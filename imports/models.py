"""Layouts (tracciati), the jobs that process creditor files, and their result rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import MoneyField

if TYPE_CHECKING:
    from accounts.models import User


class ImportKind(models.TextChoices):
    ACQUISITION = "acquisition", _("Portfolio acquisition")
    UNPAID = "unpaid", _("Unpaid installments update")
    PRE_INVOICE = "pre_invoice", _("Pre-invoice check")


class Layout(models.Model):
    """How one kind of creditor file maps to our fields; presets ship with every installation.

    `columns` maps each canonical field to {"header": str, "aliases": [str], "width": int};
    `value_maps` maps a field to {creditor code: our code}.
    """

    slug = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind)
    creditor = models.ForeignKey(
        "creditors.Creditor",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="layouts",
        help_text=_("Empty: usable for any creditor."),
    )
    is_preset = models.BooleanField(_("built-in"), default=False)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    columns: models.JSONField[dict[str, dict[str, Any]]] = models.JSONField(default=dict)
    value_maps: models.JSONField[dict[str, dict[str, str]]] = models.JSONField(
        default=dict, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    # An assignment sent as several files: each entry {"name", "sheet", "columns",
    # "value_maps", "key"} is one file, loaded in this order and linked by its key fields.
    files: models.JSONField[list[dict[str, Any]]] = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["kind", "slug"]
        verbose_name = _("layout")
        verbose_name_plural = _("layouts")

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    READING = "reading", _("Reading the file")
    APPLYING = "applying", _("Applying")
    DONE = "done", _("Completed")
    FAILED = "failed", _("Failed")
    ALREADY_APPLIED = "already_applied", _("Already applied")
    UNDONE = "undone", _("Undone")


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def visible_to(self, user: User) -> ImportJobQuerySet:
        scope = user.creditor_scope()
        return self if scope is None else self.filter(creditor_id__in=scope)


class ImportJob(models.Model):
    """One uploaded creditor file being processed, with its counts and result rows."""

    creditor = models.ForeignKey(
        "creditors.Creditor", on_delete=models.PROTECT, related_name="import_jobs"
    )
    layout = models.ForeignKey(Layout, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    dry_run = models.BooleanField(_("preview only"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=JobStatus, default=JobStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    counts: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    detected_format: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="confirmations",
        verbose_name=_("confirms preview"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("undone by"),
    )

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (
            JobStatus.DONE,
            JobStatus.FAILED,
            JobStatus.ALREADY_APPLIED,
            JobStatus.UNDONE,
        )

    @property
    def is_applied(self) -> bool:
        """Its changes are in the database: finished, not a preview, not undone."""
        return self.status == JobStatus.DONE and not self.dry_run

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))


class ImportJobFile(models.Model):
    """One more file of a job whose layout reads an assignment sent as several files; the
    job's own `file` is the first."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="extra_files")
    position = models.PositiveSmallIntegerField(_("position"))
    part = models.CharField(_("part"), max_length=50)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64)
    detected_format: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="import_job_file_position")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.position} {self.original_name}"


class RowOutcome(models.TextChoices):
    CREATED = "created", _("Case created")
    REASSIGNED = "reassigned", _("Re-assigned case created")
    FOUND = "found", _("Found")
    DUPLICATE = "duplicate", _("Duplicate")
    ALREADY_PRESENT = "already_present", _("Already present")
    CONTRACT_NOT_FOUND = "contract_not_found", _("Contract not found")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs")
    DUE_DATE_MISMATCH = "due_date_mismatch", _("Due date differs")
    PAYMENT_METHOD_MISMATCH = "payment_method_mismatch", _("Payment method differs")
    INSTALLMENT_NOT_FOUND = "installment_not_found", _("Installment not found")
    MATCHED = "matched", _("Payment matched")
    ALREADY_COMMISSIONED = "already_commissioned", _("Already commissioned")
    AMOUNT_NOT_MATCHED = "amount_not_matched", _("Amount not matched")
    ERROR = "error", _("Row not valid")


class ImportRow(models.Model):
    """One row of a processed file: its parsed values, its outcome and why.

    For an unpaid-installments file these rows are also the staging table that matching
    joins against, and they keep the installment's previous state so the job can be explained.
    """

    # Indexed through (job, outcome) and the other composite indexes below.
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    number = models.PositiveIntegerField(_("row"))
    outcome = models.CharField(_("outcome"), max_length=30, choices=RowOutcome, blank=True)
    message = models.TextField(_("message"), blank=True)
    contract_number = models.CharField(_("contract"), max_length=64, blank=True)
    installment_number = models.PositiveIntegerField(_("installment"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    amount = MoneyField(_("amount"), null=True, blank=True)
    payment_method = models.CharField(_("payment method"), max_length=3, blank=True)
    fees = MoneyField(_("fees"), null=True, blank=True)
    unpaid_on = models.DateField(_("unpaid on"), null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    installment = models.ForeignKey(
        "cases.Installment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closest = models.ForeignKey(
        "cases.Installment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Database defaults too: the importers write rows with set-wise INSERTs naming only the
    # columns they fill.
    batch_code = models.CharField(_("batch"), max_length=50, blank=True, db_default="")
    debtor_name = models.CharField(_("name"), max_length=200, blank=True, db_default="")
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    payment = models.ForeignKey(
        "cases.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commission = MoneyField(_("commission"), null=True, blank=True)
    previous_status = models.CharField(max_length=12, blank=True)
    previous_fees = MoneyField(null=True, blank=True)
    previous_unpaid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]
        indexes = [
            models.Index(fields=["job", "outcome"]),
            # Duplicates within a file and the installments to update are found by this key.
            models.Index(fields=["job", "installment", "number"]),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.number}"
