"""Run creditor files through the real pipeline in tests."""

from __future__ import annotations

from creditors.models import Creditor
from imports.models import ImportJob, JobStatus, Layout
from imports.services import run_import, submit_import

AFFIDO_HEADER = (
    "LOTTO;NUM_PRATICA;COGNOME_NOME;COD_FISCALE;INDIRIZZO;CAP;COMUNE;PROVINCIA;TELEFONO;"
    "CELLULARE;EMAIL;PRODOTTO;NUM_RATA;DATA_SCADENZA;IMPORTO_RATA;MOD_PAGAMENTO"
)
INSOLUTI_HEADER = (
    "COD_AGENZIA;NUM_PRATICA;NOMINATIVO;COD_FISCALE;NUM_RATA;DATA_SCADENZA;IMPORTO_RATA;"
    "MOD_PAGAMENTO;DATA_INSOLUTO;SPESE_PROTESTO"
)


def csv_bytes(header: str, *lines: str, encoding: str = "cp1252", newline: str = "\r\n") -> bytes:
    return newline.join((header, *lines, "")).encode(encoding)


def run_file(
    creditor: Creditor, slug: str, data: bytes, name: str = "file.csv", *, dry_run: bool = False
) -> ImportJob:
    """Submit and process a file as the worker would; returns the finished job."""
    job = submit_import(
        user=None,
        creditor=creditor,
        layout=Layout.objects.get(slug=slug),
        name=name,
        data=data,
        dry_run=dry_run,
    )
    if job.status == JobStatus.QUEUED:
        job = run_import(job.pk)
    return job
