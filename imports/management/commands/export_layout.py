"""Print or write a layout as its JSON document, for another installation or a backup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.editor import export_document
from imports.models import Layout


class Command(BaseCommand):
    help = "Export a layout as JSON (standard output, or the file given with -o)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Layout code, e.g. compass-affido")
        parser.add_argument("-o", "--output", type=Path, help="File to write")

    def handle(self, *args: Any, **options: Any) -> None:
        layout = Layout.objects.select_related("creditor").filter(slug=options["slug"]).first()
        if layout is None:
            raise CommandError(f"There is no layout with the code “{options['slug']}”.")
        text = json.dumps(export_document(layout), ensure_ascii=False, indent=2) + "\n"
        output: Path | None = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        output.write_text(text, encoding="utf-8")
        self.stderr.write(f"Layout {layout.slug} written to {output}.")
