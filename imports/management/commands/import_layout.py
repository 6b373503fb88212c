"""Create a layout from its JSON document; an existing one is replaced only when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.editor import DefinitionError, import_document
from imports.models import Layout


class Command(BaseCommand):
    help = (
        "Import a layout exported as JSON. A layout with the same code is refused unless "
        "--replace is given; built-in layouts are never replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="Replace the layout with the same code"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}.") from exc
        except ValueError as exc:
            raise CommandError(f"{path} is not JSON: {exc}.") from exc
        slug = document.get("slug") if isinstance(document, dict) else None
        existed = Layout.objects.filter(slug=str(slug)).exists()
        try:
            layout = import_document(document, user=None, replace=options["replace"])
        except DefinitionError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self.stdout.write(f"Layout {layout.slug} {'replaced' if existed else 'created'}.")
