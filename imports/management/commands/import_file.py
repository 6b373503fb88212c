import json
import logging
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from creditors.models import Creditor
from imports.models import ImportJob, JobStatus, Layout
from imports.reports import job_summary
from imports.services import SubmitError, run_import, submit_import


class Command(BaseCommand):
    help = (
        "Process a creditor file with a layout, as the upload page does, and print the result. "
        "Exit status: 0 applied (or previewed), 1 the file was refused or failed, "
        "2 already applied before."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths",
            type=Path,
            nargs="+",
            metavar="path",
            help="The file; for a layout that reads several files, all of them",
        )
        parser.add_argument("--creditor", required=True, help="Creditor code, e.g. COMPASS")
        parser.add_argument("--layout", required=True, help="Layout code, e.g. compass-insoluti")
        parser.add_argument("--dry-run", action="store_true", help="Preview: apply nothing")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        # Standard error carries the one line that says what went wrong, not the job's log.
        log = logging.getLogger("imports")
        level = log.level
        if options["verbosity"] < 2:
            log.setLevel(logging.ERROR)
        try:
            self._run(options)
        finally:
            log.setLevel(level)

    def _run(self, options: dict[str, Any]) -> None:
        try:
            job = self._submit(options)
        except CommandError as exc:
            if options["json"]:
                self.stdout.write(json.dumps({"status": "refused", "error": str(exc)}))
            raise
        if job.status == JobStatus.QUEUED:
            job = run_import(job.pk)
        self._report(job, options["json"])

    def _submit(self, options: dict[str, Any]) -> ImportJob:
        files = []
        for path in options["paths"]:
            try:
                files.append((path.name, path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        creditor = Creditor.objects.filter(code=options["creditor"].upper()).first()
        if creditor is None:
            raise CommandError(f"No creditor with code {options['creditor']}; see add_creditor.")
        layout = Layout.objects.filter(slug=options["layout"]).first()
        if layout is None:
            slugs = ", ".join(Layout.objects.values_list("slug", flat=True))
            raise CommandError(f"No layout {options['layout']}. Layouts: {slugs}")
        try:
            return submit_import(
                user=None,
                creditor=creditor,
                layout=layout,
                name=files[0][0],
                data=files[0][1],
                dry_run=options["dry_run"],
                more_files=files[1:],
            )
        except SubmitError as exc:
            raise CommandError(str(exc)) from exc

    def _report(self, job: ImportJob, as_json: bool) -> None:
        summary = job_summary(job)
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            for key, value in summary.items():
                self.stdout.write(f"{key}: {value}")
        if job.status == JobStatus.FAILED:
            self.stderr.write(job.error)
            sys.exit(1)
        if job.status == JobStatus.ALREADY_APPLIED:
            self.stderr.write(job.error)
            sys.exit(2)
