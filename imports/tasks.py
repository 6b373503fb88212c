"""Background work for imports; the task only hands the job id to the service."""

from django_tasks import task

from imports.services import run_import


@task()
def process_import_job(job_id: int) -> str:
    """Process an uploaded creditor file in the background worker."""
    return run_import(job_id).status
