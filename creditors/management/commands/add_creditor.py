from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from creditors.services import ensure_creditor


class Command(BaseCommand):
    help = "Create a creditor if it does not exist yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Short unique code, e.g. COMPASS")
        parser.add_argument("name", help="Legal name, e.g. 'Compass Banca S.p.A.'")

    def handle(self, *args: Any, **options: Any) -> None:
        creditor, created = ensure_creditor(options["code"], options["name"])
        state = "created" if created else "already present"
        self.stdout.write(f"{creditor.code}: {state}")
