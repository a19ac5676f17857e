"""Start-up time of `easyimg --version` and `easyimg gen --help` against `import typer` (SPEC §7).

Run with the venv's Python: `python benchmarks/bench_startup.py [--runs 20]`. It prints a
Markdown table of medians and ratios; it reports, it does not fail. When a ratio is above its
aim, `python -X importtime -c "from easyimg.__main__ import main; main(['gen', '--help'])"`
shows which imports to defer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

EASYIMG = Path(sys.executable).parent / "easyimg"


def cases() -> list[tuple[str, list[str], float | None]]:
    """(label, argv, aim as a ratio to the typer baseline)."""
    return [
        ('python -c "import typer"', [sys.executable, "-c", "import typer"], None),
        ("easyimg --version", [str(EASYIMG), "--version"], 1.3),
        ("easyimg gen --help", [str(EASYIMG), "gen", "--help"], 3.0),
        ('python -c "pass"', [sys.executable, "-c", "pass"], None),
    ]


def timed(argv: list[str], runs: int, warmups: int) -> list[float]:
    env = {**os.environ, "COLUMNS": "100"}
    samples = []
    for i in range(warmups + runs):
        start = time.perf_counter()
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True
        )
        if i >= warmups:
            samples.append(time.perf_counter() - start)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command")
    parser.add_argument("--warmups", type=int, default=2, help="untimed runs first")
    args = parser.parse_args(argv)
    if not EASYIMG.exists():
        print(
            f"no console script at {EASYIMG}: install easyimg into this Python's environment",
            file=sys.stderr,
        )
        return 2
    results = [
        (label, statistics.median(timed(cmd, args.runs, args.warmups)), aim)
        for label, cmd, aim in cases()
    ]
    baseline = results[0][1]
    print(f"{args.runs} runs each after {args.warmups} warm-ups, median wall time\n")
    print("| command | median | ratio to import typer | aim |")
    print("|---|---:|---:|---|")
    for label, median, aim in results:
        ratio = median / baseline
        verdict = "" if aim is None else f"≤ {aim:g}x {'ok' if ratio <= aim else 'OVER'}"
        print(f"| `{label}` | {median * 1000:.1f} ms | {ratio:.2f} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
