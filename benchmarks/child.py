"""A benchmark's subject run in a fresh process, with that process's own rusage.

A child's peak RSS (`ru_maxrss`) counts what its process held before exec, and a child that
subprocess starts with vfork shares its parent's memory until then: the benchmark's own peak
(answers it built, a folder of a million files it listed to remove) would be reported as the
child's. So a small Python process, fresh, starts each subject and reports its rusage.
"""

from __future__ import annotations

import subprocess
import sys

MEASURE = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
sys.stderr.buffer.write(err[-4000:])
print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss, wall)
"""


class Measured:
    def __init__(self, code: int, cpu: float, rss_mb: float, wall: float, err: bytes) -> None:
        self.code, self.cpu, self.rss_mb, self.wall, self.err = code, cpu, rss_mb, wall, err


def measure(args: list[str], env: dict[str, str], cwd: str | None = None) -> Measured:
    """Run `args`; its exit code, CPU (user + system), peak RSS in MB and wall time."""
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], capture_output=True, env=env, cwd=cwd, check=False
    )
    code, cpu, rss, wall = proc.stdout.split()
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 << 20 if sys.platform == "darwin" else 1 << 10
    return Measured(int(code), float(cpu), int(rss) / scale, float(wall), proc.stderr)
