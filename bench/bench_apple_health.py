"""Apple Health import, end to end on PostgreSQL: an export.zip made by the project's own
generator (imports/apple_health/generator.py) is imported by `manage.py
import_apple_health` in its own process (zip on disk -> committed, de-duplicated rows and
rollups), then imported again.

Figures:
- apple_import_records_per_s: records of the export per second of the first import.
- apple_import_peak_rss_mb: the import's peak resident memory: the importing process's
  peak plus its parser process's peak (pipe.py), each read from /proc (VmHWM, which only
  grows) every 10 ms while it runs. (getrusage's ru_maxrss would count this benchmark's
  own memory: a child starts as a copy of its parent.)
- apple_import_peak_rss_small_mb: the same for a ~100 MB export.xml (96 days), which
  should stay within 20 MB of the large one: memory does not grow with the export.
- apple_reimport_new_rows: rows the second import of the same file created or changed.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from _setup import ROOT, fresh_user, report, setup_django

setup_django()


from imports.apple_health.generator import generate_export  # noqa: E402

EMAIL = "bench-apple@example.org"
# About 2.3 million records (a 1 GB export.xml): ~2 years, heart rate every minute.
DAYS, HR_EVERY = int(os.environ.get("APPLE_BENCH_DAYS", 990)), 1
SMALL_DAYS = 96  # about 100 MB of export.xml


def run_import(path: Path) -> tuple[float, str, float]:
    """(seconds, the command's output, peak MB of the import and its parser process)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_apple_health", str(path), "--user", EMAIL],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    peaks: dict[int, int] = {}  # pid -> VmHWM in kB, last seen
    watcher = threading.Thread(target=_watch, args=(process, peaks), daemon=True)
    watcher.start()
    out, err = process.communicate()
    elapsed = time.perf_counter() - start
    watcher.join()
    if process.returncode:
        raise RuntimeError(f"the import failed:\n{err[-3000:]}")
    return elapsed, out, sum(peaks.values()) / 1024


def _watch(process: subprocess.Popen, peaks: dict[int, int]) -> None:
    while process.poll() is None:
        pids = [process.pid]
        # The import's children (its parser process), started from any of its threads.
        for task in Path(f"/proc/{process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in (task / "children").read_text().split()]
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))
        time.sleep(0.01)  # VmHWM only grows: a sample missed late is the only risk


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
        elapsed, _, peak = run_import(path)
        report("apple_import_records_per_s", records / elapsed, "records/s")
        report("apple_import_peak_rss_mb", peak, "MB")
        _, out, _ = run_import(path)
        new = int(out.split(" new samples")[0].rsplit(" ", 1)[-1].replace(",", ""))
        updated = int(out.split(" updated")[0].rsplit(" ", 1)[-1].replace(",", ""))
        report("apple_reimport_new_rows", new + updated, "rows")

        fresh_user(EMAIL, timezone="America/Los_Angeles")
        small = Path(folder) / "small.zip"
        generate_export(
            small, days=SMALL_DAYS, end=date(2024, 3, 31), watch_hr_every_minutes=HR_EVERY
        )
        _, _, small_peak = run_import(small)
        report("apple_import_peak_rss_small_mb", small_peak, "MB")


if __name__ == "__main__":
    main()
