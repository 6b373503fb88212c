"""Reads an .xls or .ods workbook with calamine in a process of its own, with a memory limit.

Run by `imports.readers.other_workbooks` as `python -I calamine_process.py LIMIT`, with the file
on standard input; it writes a pickle on standard output: ("sheets", [(name, visible, start,
end, rows), ...]) for every worksheet, or ("error", description). A damaged file can make
calamine ask for tens of gigabytes or abort the process: here that ends this process only.
Nothing of Incasso is imported, so the script runs with the interpreter alone.
"""

from __future__ import annotations

import io
import pickle
import resource
import sys
from typing import Any


def read(data: bytes) -> tuple[str, Any]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    sheets = []
    with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
        for metadata in workbook.sheets_metadata:
            if metadata.typ != SheetTypeEnum.WorkSheet:
                continue
            sheet = workbook.get_sheet_by_name(metadata.name)
            visible = metadata.visible == SheetVisibleEnum.Visible
            rows = list(sheet.iter_rows()) if sheet.start is not None else []
            sheets.append((metadata.name, visible, sheet.start, sheet.end, rows))
    return "sheets", sheets


def main() -> None:
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    data = sys.stdin.buffer.read()
    try:
        result = read(data)
    except BaseException as exc:  # calamine's panics are BaseExceptions, not Exceptions
        result = ("error", f"{type(exc).__name__}: {exc}")
    pickle.dump(result, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
