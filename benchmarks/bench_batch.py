"""Batch throughput (SPEC §7): N prompts at -j J against `easyimg serve --latency L`.

SPEC: a run finishes within 10% of N*L/J plus start-up. Start-up is measured as a
`--dry-run` of a one-prompt file (the CLI's imports and file parsing, no requests).

    python benchmarks/bench_batch.py [--prompts 64] [--latency 0.25] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def easyimg() -> list[str]:
    script = Path(sys.executable).with_name("easyimg")
    return [str(script)] if script.exists() else [sys.executable, "-m", "easyimg"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=1) as resp:
                json.load(resp)
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not come up")


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", default="1,4,8,16")
    opts = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = subprocess.Popen(
        [*easyimg(), "serve", "--port", str(port), "--latency", str(opts.latency), "--quiet"]
    )
    tmp = Path(tempfile.mkdtemp(prefix="easyimg-bench-"))
    env_note = {k: v for k, v in os.environ.items() if k.startswith("EASYIMG_")}
    try:
        wait_up(url, time.monotonic() + 20)
        prompts = tmp / "prompts.txt"
        prompts.write_text("".join(f"benchmark prompt number {i}\n" for i in range(opts.prompts)))
        one = tmp / "one.txt"
        one.write_text("one prompt\n")
        common = ["-m", "gpt-image-2", "-s", "256x256", "-q", "low", "--base-url", url, "--quiet"]
        version = statistics.median(timed([*easyimg(), "--version"]) for _ in range(5))
        startup = statistics.median(
            timed([*easyimg(), "batch", str(one), "--dry-run", *common, "-o", str(tmp / "dry")])
            for _ in range(5)
        )
        rows = []
        for jobs in (int(j) for j in opts.jobs.split(",")):
            runs = []
            for rep in range(opts.repeat):
                out = tmp / f"out-{jobs}-{rep}"
                runs.append(
                    timed(
                        [
                            *easyimg(),
                            "batch",
                            str(prompts),
                            "-j",
                            str(jobs),
                            "-o",
                            str(out),
                            *common,
                        ]
                    )
                )
                written = len(list(out.glob("*.png")))
                if written != opts.prompts:
                    raise SystemExit(
                        f"-j {jobs}: {written} images written, {opts.prompts} expected"
                    )
            wall = statistics.median(runs)
            ideal = opts.prompts * opts.latency / jobs
            rows.append((jobs, wall, ideal, (wall - startup) / ideal, min(runs), max(runs)))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"N={opts.prompts} prompts, L={opts.latency}s per request, median of {opts.repeat}; "
        f"python {sys.version.split()[0]}{' ' + str(env_note) if env_note else ''}"
    )
    print(
        f"start-up: `easyimg --version` {version * 1000:.0f} ms, "
        f"`easyimg batch ONE --dry-run` {startup * 1000:.0f} ms\n"
    )
    print("| -j | wall (median) | min-max | ideal N*L/J | wall - start-up | ratio | within 10% |")
    print("|---:|---:|---:|---:|---:|---:|:---:|")
    for jobs, wall, ideal, ratio, lo, hi in rows:
        print(
            f"| {jobs} | {wall:.3f} s | {lo:.3f}-{hi:.3f} s | {ideal:.3f} s | "
            f"{wall - startup:.3f} s | {ratio:.3f} | {'yes' if ratio <= 1.10 else 'NO'} |"
        )


if __name__ == "__main__":
    main()
