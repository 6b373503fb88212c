from typing import Any

from django.core.management.base import BaseCommand

from imports.services import fail_interrupted_jobs


class Command(BaseCommand):
    help = (
        "Mark import jobs left running by a stopped worker as failed (nothing of them was "
        "applied). Run it before starting the worker."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{fail_interrupted_jobs()} interrupted job(s) marked as failed.")
