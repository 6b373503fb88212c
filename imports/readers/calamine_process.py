"""Reads a workbook with calamine in a process of its own, limited in memory and in CPU time.

A damaged or odd file can make calamine ask for tens or hundreds of gigabytes (a damaged .xls
record, one stray value in XFD1048576 of an .xlsx) and abort, or panic: here that ends this
process only, and the reader in `imports.readers.calamine_reader` reports it.

Run as `python -I calamine_process.py PATH MEMORY_LIMIT CPU_SECONDS`. It talks in pickled
messages: it writes ("sheets", [(name, visible), ...]) for the worksheets, reads the name of
the sheet to read from standard input (as JSON), writes ("ready", start, end), then ("rows",
[...]) for every few tens of thousands of cells and ("end",); on any failure ("error", description).
Nothing of Incasso is imported, so the script runs with the interpreter and python-calamine
alone.
"""

from __future__ import annotations

import json
import pickle
import resource
import sys
from typing import Any, BinaryIO

# Rows are sent in messages of about this many cells, whatever the sheet's width.
CELLS_PER_MESSAGE = 40_000


def send(stream: BinaryIO, message: tuple[Any, ...]) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def serve(path: str, requests: BinaryIO, replies: BinaryIO) -> None:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    with CalamineWorkbook.from_path(path) as workbook:
        worksheets = [
            (metadata.name, metadata.visible == SheetVisibleEnum.Visible)
            for metadata in workbook.sheets_metadata
            if metadata.typ == SheetTypeEnum.WorkSheet
        ]
        send(replies, ("sheets", worksheets))
        name = json.loads(requests.read())
        sheet = workbook.get_sheet_by_name(name)
        send(replies, ("ready", sheet.start, sheet.end))
        chunk: list[list[Any]] = []
        cells = 0
        if sheet.start is not None:
            for row in sheet.iter_rows():
                chunk.append(row)
                cells += len(row) + 1
                if cells >= CELLS_PER_MESSAGE:
                    send(replies, ("rows", chunk))
                    chunk, cells = [], 0
        send(replies, ("rows", chunk))
        send(replies, ("end",))


def main() -> None:
    path, memory, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    # An abort on a file asking for too much memory leaves no core file behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        serve(path, sys.stdin.buffer, sys.stdout.buffer)
    except BaseException as exc:  # calamine's panics are BaseExceptions, not Exceptions
        send(sys.stdout.buffer, ("error", f"{type(exc).__name__}: {exc}"))
        sys.exit(1)


if __name__ == "__main__":
    main()
