"""Per-image overhead (issue [8/8]): CPU of `easyimg batch` per tiny image against an openai-SDK
thread-pool script and a bare stdlib client doing the same requests and file writes.

An instant local server (raw sockets on one thread of this process) answers every POST with
one pre-built JSON holding a 1x1 PNG, so only the clients' own work is measured. Each run is a
fresh child; its CPU (user + system) comes from its own rusage (os.wait4), not wall time, as
the machine is shared. Runs are interleaved (easyimg, sdk, floor, easyimg, ...) and medians
taken. "per image" is the marginal CPU: (CPU of --n images - CPU of --base images) divided by
the difference, so that start-up (import time) does not count; "total/n" includes it.
"vs sdk" divides the medians; "per round" is the median (and interquartile range) of each
round's own ratio, every tool's runs of a round being next to each other in time: the
machine's speed drifts more between rounds than within one.

    python benchmarks/bench_overhead.py [--n 1000] [--base 100] [--jobs 1,8,32] [--repeat 3]
        [--src DIR]        # measure the easyimg of another checkout instead
        [--baseline DIR]   # and the easyimg of DIR too, interleaved with the others

The SDK script needs `pip install openai` (a benchmark-only package); without it that column
is skipped.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

SRC: str | None = None

SDK_SCRIPT = r"""
import base64, sys
from concurrent.futures import ThreadPoolExecutor
from openai import OpenAI

url, prompts, out, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = OpenAI(base_url=url, api_key="sk-bench", max_retries=0, timeout=600)

def one(job):
    i, prompt = job
    r = client.images.generate(model="gpt-image-1", prompt=prompt, n=1, size="1024x1024",
                               quality="low")
    with open(f"{out}/{i}.png", "wb") as fh:
        fh.write(base64.b64decode(r.data[0].b64_json))

with open(prompts, encoding="utf-8") as fh:
    todo = [(i, line.strip()) for i, line in enumerate(fh) if line.strip()]
with ThreadPoolExecutor(jobs) as pool:
    for _ in pool.map(one, todo):
        pass
"""

# The floor: one keep-alive http.client connection per thread, json, base64, a file write.
FLOOR_SCRIPT = r"""
import base64, http.client, json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

url, prompts, out, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
parts = urlsplit(url)
local = threading.local()
headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}

def one(job):
    i, prompt = job
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection(parts.hostname, parts.port)
    body = json.dumps({"model": "gpt-image-1", "prompt": prompt, "n": 1, "size": "1024x1024",
                       "quality": "low"})
    conn.request("POST", parts.path + "/images/generations", body, headers)
    answer = json.loads(conn.getresponse().read())
    with open(f"{out}/{i}.png", "wb") as fh:
        fh.write(base64.b64decode(answer["data"][0]["b64_json"]))

with open(prompts, encoding="utf-8") as fh:
    todo = [(i, line.strip()) for i, line in enumerate(fh) if line.strip()]
with ThreadPoolExecutor(jobs) as pool:
    for _ in pool.map(one, todo):
        pass
"""


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    parts = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + parts + chunk(b"IEND", b"")


def answer_bytes() -> bytes:
    body = json.dumps(
        {
            "created": 1,
            "data": [{"b64_json": base64.b64encode(tiny_png()).decode()}],
            "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30},
        }
    ).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


class Instant:
    """A raw-socket HTTP/1.1 keep-alive server on one thread (selectors): every request gets
    the same pre-built answer at once, so that the clients' CPU is all that is measured and
    the server is never what they wait for."""

    def __init__(self) -> None:
        self.answer = answer_bytes()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.setblocking(False)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ, None)
        self.stopped = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        buffers: dict[socket.socket, bytearray] = {}
        while not self.stopped:
            for key, _ in self.sel.select(0.5):
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                if conn is self.sock:
                    with contextlib.suppress(BlockingIOError):
                        client, _ = self.sock.accept()
                        client.setblocking(True)
                        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        buffers[client] = bytearray()
                        self.sel.register(client, selectors.EVENT_READ, None)
                    continue
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(conn)
                    buffers.pop(conn, None)
                    conn.close()
                    continue
                buf = buffers[conn]
                buf += data
                while True:  # every whole request in the buffer gets its answer
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head = bytes(buf[:end]).lower()
                    at = head.find(b"content-length:")
                    length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
                    if len(buf) < end + 4 + length:
                        break
                    del buf[: end + 4 + length]
                    conn.sendall(self.answer)

    def stop(self) -> None:
        self.stopped = True


def cpu_of(args: list[str], env: dict[str, str], cwd: str | None) -> float:
    """One fresh child; its user + system CPU seconds from its own rusage."""
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(args, stdout=null, stderr=subprocess.PIPE, env=env, cwd=cwd)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args[:4])}... failed:\n{err.decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="images per run")
    parser.add_argument("--base", type=int, default=100, help="images of the start-up run")
    parser.add_argument("--jobs", default="1,8,32")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", help="measure the easyimg package in this checkout (a baseline)")
    parser.add_argument("--baseline", help="also measure this checkout's easyimg, interleaved")
    parser.add_argument("--no-history", action="store_true", help="run easyimg with history off")
    opts = parser.parse_args()
    global SRC
    SRC = opts.src

    try:
        import openai  # noqa: F401  (only to know whether the SDK column can run)

        have_sdk = True
    except ImportError:
        have_sdk = False
    server = Instant()
    url = server.url
    tmp = Path(tempfile.mkdtemp(prefix="easyimg-overhead-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASYIMG_")}
    env |= {"NO_COLOR": "1", "EASYIMG_CONFIG": str(tmp / "config.toml")}
    env["EASYIMG_HISTORY"] = str(tmp / "history.jsonl")
    if opts.no_history:
        (tmp / "config.toml").write_text("history = false\n")
    if SRC is not None:
        env["PYTHONPATH"] = SRC
    script = Path(sys.executable).with_name("easyimg")
    easyimg = (
        [str(script)] if SRC is None and script.exists() else [sys.executable, "-m", "easyimg"]
    )
    (tmp / "sdk.py").write_text(SDK_SCRIPT)
    (tmp / "floor.py").write_text(FLOOR_SCRIPT)
    for count in (opts.n, opts.base):
        with (tmp / f"prompts-{count}.txt").open("w") as fh:
            fh.writelines(f"benchmark prompt number {i}\n" for i in range(count))

    def runner(tool: str, jobs: int) -> Callable[[int], float]:
        def once(count: int) -> float:
            out = tmp / "out"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            prompts = str(tmp / f"prompts-{count}.txt")
            cwd, child_env = None, env
            if tool in ("easyimg", "baseline"):
                command = easyimg if tool == "easyimg" else [sys.executable, "-m", "easyimg"]
                args = [*command, "batch", prompts, "-o", str(out), "-j", str(jobs), "--quiet"]
                args += ["-m", "gpt-image-1", "-s", "1024x1024", "-q", "low", "--base-url", url]
                cwd = SRC if tool == "easyimg" else opts.baseline
                if tool == "baseline":
                    child_env = {**env, "PYTHONPATH": opts.baseline}
            else:
                args = [sys.executable, str(tmp / f"{tool}.py"), url, prompts, str(out), str(jobs)]
            cpu = cpu_of(args, child_env, cwd)
            written = sum(1 for p in out.iterdir() if p.suffix == ".png")
            if written != count:
                raise SystemExit(f"{tool}: {written} images written, {count} expected")
            return cpu

        return once

    tools = ["easyimg", *(["baseline"] if opts.baseline else []), *(["sdk"] if have_sdk else [])]
    tools.append("floor")
    load = os.getloadavg()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load[0]:.2f}, "
        f"{opts.n} vs {opts.base} tiny images, median of {opts.repeat} interleaved runs"
        + (f", easyimg from {SRC}" if SRC else "")
        + (f", baseline from {opts.baseline}" if opts.baseline else "")
    )
    print("\n| -j | tool | per image | total/n | vs sdk | vs sdk, per round (IQR) | vs floor |")
    print("|---:|---|---:|---:|---:|---:|---:|", flush=True)
    for jobs in (int(j) for j in opts.jobs.split(",")):
        runs: dict[str, dict[int, list[float]]] = {t: {opts.n: [], opts.base: []} for t in tools}
        for _ in range(opts.repeat):
            for tool in tools:
                for count in (opts.n, opts.base):
                    runs[tool][count].append(runner(tool, jobs)(count))
        per: dict[str, float] = {}
        total: dict[str, float] = {}
        # Each round's marginal cost, and its ratio to the SDK's in the same round: the
        # machine's speed drifts between rounds, far less within one.
        rounds: dict[str, list[float]] = {}
        for tool in tools:
            big = statistics.median(runs[tool][opts.n])
            small = statistics.median(runs[tool][opts.base])
            per[tool] = (big - small) / (opts.n - opts.base)
            total[tool] = big / opts.n
            rounds[tool] = [
                (b - s) / (opts.n - opts.base)
                for b, s in zip(runs[tool][opts.n], runs[tool][opts.base], strict=True)
            ]
        for tool in tools:
            vs_sdk = f"{per[tool] / per['sdk']:.2f}x" if have_sdk else "-"
            paired = "-"
            if have_sdk:
                ratios = sorted(t / s for t, s in zip(rounds[tool], rounds["sdk"], strict=True))
                q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
                paired = f"{statistics.median(ratios):.2f}x ({q1:.2f}-{q3:.2f})"
            print(
                f"| {jobs} | {tool} | {per[tool] * 1e6:.0f} µs | {total[tool] * 1e6:.0f} µs | "
                f"{vs_sdk} | {paired} | {per[tool] / per['floor']:.2f}x |",
                flush=True,
            )
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
