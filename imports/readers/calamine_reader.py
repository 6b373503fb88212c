"""calamine, run in a process of its own (`calamine_process.py`), as the workbook readers use it.

The process gets the file, a memory limit and a CPU-time limit; the rows come back a few
thousand at a time while the import reads them, so this process never holds the whole sheet.
When calamine fails, aborts or is killed, `CalamineFailed` says at which step: the .xlsx reader
then reads the file with openpyxl, the .xls and .ods reader reports it as unreadable.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any, NoReturn, cast

logger = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("calamine_process.py")
# The process may use this much address space, and more for a larger file: enough for any
# sheet calamine reads well (its cells take 32 bytes each, on a rectangle from A1 to the last
# cell); a file asking for more makes calamine abort, and is read otherwise or refused.
MEMORY_LIMIT = 4 * 1024**3
MEMORY_PER_BYTE = 32
CPU_SECONDS = 600


class CalamineFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"calamine failed ({step}): {detail}")
        self.step = step


class CalamineChild:
    """One sheet of a workbook read by calamine in a child process.

    `sheets()` gives the worksheets as (name, visible); `open(name)` reads one and gives its
    first and last cell; `rows()` then yields its rows as calamine gives them, from its first
    row. Always `close()` it (or use `with`): it ends the process and removes the file copy.
    """

    def __init__(self, data: bytes, suffix: str) -> None:
        handle, name = tempfile.mkstemp(suffix=suffix, prefix="incasso-")
        self._path = Path(name)
        # calamine's own messages (a panic, an abort), for the log; closed by `close`.
        self._errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            limit = MEMORY_LIMIT + MEMORY_PER_BYTE * len(data)
            self._process = subprocess.Popen(  # noqa: S603 (our own script, by this interpreter)
                [sys.executable, "-I", str(CHILD), name, str(limit), str(CPU_SECONDS)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
            )
        except BaseException:
            self._errors.close()
            self._path.unlink(missing_ok=True)
            raise
        # Whatever happens to this object (a caller that never reads the rows, an error), the
        # process is ended and the copy of the creditor's file removed when it is dropped.
        self._finalizer = weakref.finalize(self, _clean_up, self._process, self._path, self._errors)

    def __enter__(self) -> CalamineChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheets(self) -> list[tuple[str, bool]]:
        worksheets: list[tuple[str, bool]] = self._expect("sheets", "opening the workbook")[0]
        return worksheets

    def open(self, name: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        requests = cast(IO[bytes], self._process.stdin)
        try:
            requests.write(json.dumps(name).encode())
            requests.close()
        except OSError:
            pass  # the process has ended: what it said is read next
        start, end = self._expect("ready", "reading the sheet")
        return start, end

    def rows(self) -> Generator[list[Any], None, None]:
        try:
            while True:
                message = self._receive("reading the rows")
                if message[0] == "end":
                    return
                if message[0] != "rows":
                    self._fail("reading the rows", message)
                yield from message[1]
        finally:
            self.close()

    def close(self) -> None:
        self._finalizer()

    def _expect(self, kind: str, step: str) -> tuple[Any, ...]:
        message = self._receive(step)
        if message[0] != kind:
            self._fail(step, message)
        return message[1:]

    def _receive(self, step: str) -> tuple[Any, ...]:
        replies = cast(IO[bytes], self._process.stdout)
        try:
            # What our own script wrote: calamine's values, pickled by that script.
            message: tuple[Any, ...] = pickle.load(replies)  # noqa: S301
        except Exception:
            # Killed or aborted: typically a file asking for more memory than allowed. (Or
            # this side could not read what it sent: then it must not be left blocked.)
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._errors.seek(0)
            written = self._errors.read().decode(errors="replace")
            # The first lines say what failed ("memory allocation of … bytes failed"); a Rust
            # backtrace may follow.
            detail = " ".join(written.strip().splitlines()[:3])[:500]
            self._fail(step, ("stopped", f"exit {self._process.returncode}: {detail}"))
        return message

    def _fail(self, step: str, message: tuple[Any, ...]) -> NoReturn:
        detail = str(message[1]) if len(message) > 1 else str(message[0])
        logger.info("calamine failed while %s: %s", step, detail)
        self.close()
        raise CalamineFailed(step, detail)


def _clean_up(process: subprocess.Popen[bytes], path: Path, errors: IO[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout, errors):
        if stream is not None and not stream.closed:
            stream.close()
    path.unlink(missing_ok=True)
