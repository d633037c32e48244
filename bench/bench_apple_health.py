"""Apple Health import, end to end on PostgreSQL: an export.zip made by the project's own
generator (imports/apple_health/generator.py) is imported by `manage.py
import_apple_health` in its own process (zip on disk -> committed, de-duplicated rows and
rollups), then imported again.

Figures:
- apple_import_records_per_s: records of the export per second of the first import.
- apple_import_peak_rss_mb: the import process's peak resident memory.
- apple_reimport_new_rows: rows the second import of the same file created or changed.
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _setup import ROOT, fresh_user, report, setup_django

setup_django()


from imports.apple_health.generator import generate_export  # noqa: E402

EMAIL = "bench-apple@example.org"
# About 2.3 million records (a 1 GB export.xml): ~2 years, heart rate every minute.
DAYS, HR_EVERY = int(os.environ.get("APPLE_BENCH_DAYS", 990)), 1


def run_import(path: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "import_apple_health", str(path), "--user", EMAIL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    return time.perf_counter() - start, result.stdout


def main() -> None:
    fresh_user(EMAIL, timezone="America/Los_Angeles")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.zip"
        counts = generate_export(
            path, days=DAYS, end=date(2024, 3, 31), watch_hr_every_minutes=HR_EVERY
        )
        records = counts["total_records"]
        print(
            f"export: {records:,} records, {counts['xml_bytes'] / 2**20:,.0f} MiB xml, "
            f"{path.stat().st_size / 2**20:,.0f} MiB zip",
            file=sys.stderr,
        )
        elapsed, _ = run_import(path)
        report("apple_import_records_per_s", records / elapsed, "records/s")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report("apple_import_peak_rss_mb", peak, "MB")
        _, out = run_import(path)
        new = int(out.split(" new samples")[0].rsplit(" ", 1)[-1].replace(",", ""))
        updated = int(out.split(" updated")[0].rsplit(" ", 1)[-1].replace(",", ""))
        report("apple_reimport_new_rows", new + updated, "rows")


if __name__ == "__main__":
    main()
