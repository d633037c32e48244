"""Run every benchmark under bench/ (files named bench_*.py), each in its own process.

Each benchmark prints one line per figure: `BENCH <name> <value> <unit>`. This runner
passes those lines through, and fails if a benchmark fails. `make bench` calls it with
the test services (PostgreSQL, Redis); benchmarks use their own database, `<db>_bench`.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        result = subprocess.run(
            [sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True
        )
        for line in result.stdout.splitlines():
            if line.startswith("BENCH "):
                print(line, flush=True)
        if result.returncode != 0:
            failed.append(script.name)
            print(f"{script.name} failed:\n{result.stderr[-3000:]}", file=sys.stderr)
    if failed:
        print(f"failed benchmarks: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
