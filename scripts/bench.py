#!/usr/bin/env python
"""Import benchmark: a 100,000-case portfolio (800,000 installments) and a 100,000-row unpaid
installments file, on SQLite and on PostgreSQL, with rows per second and peak memory.

Each import runs as `manage.py import_file` in its own process, so the figures are what an
agency gets from the command line or the background worker (the same job). Peak memory is the
process's maximum resident set size.

Then the same 100,000-row portfolio as XLSX and as CSV, with the XLSX speed as a share of the
CSV speed (goal: at least a third) and each one's peak memory.

Usage: python scripts/bench.py [--cases 100000] [--per-case 8] [--unpaid 100000]
                               [--backends sqlite,postgres] [--xlsx-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imports import samplegen, samplegen_prefattura  # noqa: E402 - after the path is set

WORK = ROOT / "var" / "bench"
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/incasso_bench")


def run(args: list[str], env: dict[str, str]) -> tuple[dict[str, object], float, int]:
    """Run a manage.py command; returns its JSON output, wall seconds and peak RSS in MiB."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = process.stdout.read() if process.stdout else b""
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {out.decode()[-500:]}")
    text = out.decode().strip().splitlines()
    return (json.loads(text[-1]) if text else {}), elapsed, usage.ru_maxrss // 1024


def prepare_database(backend: str) -> dict[str, str]:
    env = dict(os.environ, LOG_LEVEL="WARNING", DEBUG="0")
    if backend == "sqlite":
        db = WORK / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{db}"
    else:
        name = PG_URL.rsplit("/", 1)[1]
        admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607
        env["DATABASE_URL"] = PG_URL
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "add_creditor", "COMPASS", "Compass Banca S.p.A."],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return env


def job_seconds(result: dict[str, object], fallback: float) -> float:
    seconds = result.get("seconds")
    return float(seconds) if isinstance(seconds, (int, float)) else fallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--per-case", type=int, default=8)
    parser.add_argument("--unpaid", type=int, default=100_000)
    parser.add_argument("--prefattura", type=int, default=100_000, help="pre-invoice rows")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--xlsx-rows", type=int, default=100_000, help="rows of the XLSX-against-CSV comparison"
    )
    options = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    print(f"Generating {options.cases:,} cases x {options.per_case} installments ...", flush=True)
    portfolio = samplegen.generate_portfolio(
        cases=options.cases,
        installments_per_case=(options.per_case, options.per_case),
        batch_code="BENCH-001",
    )
    affido = WORK / "bench_affido.csv"
    with affido.open("wb") as stream:
        portfolio.write_csv(stream)
    share = options.unpaid // 25
    insoluti = WORK / "bench_insoluti.csv"
    with insoluti.open("wb") as stream:
        expected = samplegen.write_insoluti_csv(
            portfolio,
            stream,
            found=options.unpaid - 5 * share,
            amount_mismatch=share,
            due_date_mismatch=share,
            payment_method_mismatch=share,
            contract_not_found=share,
            duplicates=share,
        )
    prefattura = WORK / "bench_prefattura.csv"
    share = options.prefattura // 25
    with prefattura.open("wb") as stream:
        expected_prefattura = samplegen_prefattura.write_prefattura_csv(
            portfolio,
            stream,
            matched=options.prefattura - 3 * share,
            two_installments=share,
            amount_not_matched=share,
            contract_not_found=share,
        )

    print(
        f"{'backend':10} {'file':10} {'rows':>9} {'job s':>7} {'rows/s':>9} {'total s':>8} "
        f"{'peak MiB':>9}"
    )
    for backend in options.backends.split(","):
        env = prepare_database(backend)
        for label, path, layout in (
            ("affido", affido, "compass-affido"),
            ("insoluti", insoluti, "compass-insoluti"),
            ("prefattura", prefattura, "prefattura"),
        ):
            result, elapsed, peak = run(
                ["import_file", str(path), "--creditor", "COMPASS", "--layout", layout, "--json"],
                env,
            )
            rows = int(str(result["rows"]))
            seconds = job_seconds(result, elapsed)
            print(
                f"{backend:10} {label:10} {rows:>9,} {seconds:>7.1f} {rows / seconds:>9,.0f} "
                f"{elapsed:>8.1f} {peak:>9,}",
                flush=True,
            )
            if label == "insoluti" and result["found"] != expected.found:
                raise SystemExit(f"insoluti found {result['found']}, expected {expected.found}")
            if label == "prefattura" and result["matched"] != expected_prefattura.matched:
                raise SystemExit(
                    f"prefattura matched {result['matched']}, "
                    f"expected {expected_prefattura.matched}"
                )
    if options.xlsx_rows:
        compare_xlsx(options.xlsx_rows, options.per_case)


def compare_xlsx(rows: int, per_case: int) -> None:
    """The same portfolio as XLSX and as CSV, each loaded into an empty SQLite database."""
    print(f"\nXLSX against CSV, {rows:,} rows, SQLite", flush=True)
    portfolio = samplegen.generate_portfolio(
        cases=rows // per_case, installments_per_case=(per_case, per_case), batch_code="BENCH-X"
    )
    files = {"csv": WORK / "bench_affido_x.csv", "xlsx": WORK / "bench_affido_x.xlsx"}
    with files["csv"].open("wb") as stream:
        portfolio.write_csv(stream)
    with files["xlsx"].open("wb") as stream:
        samplegen.write_portfolio_xlsx(portfolio, stream)
    speeds = {}
    peaks = {}
    for kind, path in files.items():
        env = prepare_database("sqlite")
        result, elapsed, peak = run(
            [
                "import_file",
                str(path),
                "--creditor",
                "COMPASS",
                "--layout",
                "compass-affido",
                "--json",
            ],
            env,
        )
        seconds = job_seconds(result, elapsed)
        speeds[kind] = int(str(result["rows"])) / seconds
        peaks[kind] = peak
        print(
            f"{kind:10} {int(str(result['rows'])):>9,} rows {seconds:>7.1f} s "
            f"{speeds[kind]:>9,.0f} rows/s {peak:>7,} MiB",
            flush=True,
        )
    print(
        f"XLSX at {speeds['xlsx'] / speeds['csv']:.0%} of the CSV speed (goal: at least 33%), "
        f"peak memory {peaks['xlsx']:,} MiB against {peaks['csv']:,} MiB",
        flush=True,
    )


if __name__ == "__main__":
    main()
