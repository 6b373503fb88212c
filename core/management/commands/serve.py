"""Start the web server and the background worker together, as `make run` does."""

import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from imports.services import fail_interrupted_jobs


class Command(BaseCommand):
    help = "Run the web server and the background worker until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        # Only one worker runs here, so any job still marked running was cut off by a stop.
        interrupted = fail_interrupted_jobs()
        if interrupted:
            self.stdout.write(f"{interrupted} interrupted import job(s) marked as failed.")
        worker = subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "0.5"])
        # A service manager stops with SIGTERM: leave through `finally`, so the worker stops too.
        signal.signal(signal.SIGTERM, _stop)
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=10)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
