"""Memory per request in flight and CPU per image: `easyimg batch -j J` against an openai-SDK
thread-pool script and a bare stdlib client doing the same requests and writes.

    python benchmarks/bench_inflight.py [--runs 3] [--src DIR] [--only memory|cpu]

An instant local server answers every request with the same prebuilt JSON holding one noisy
PNG (noise does not compress, so a 4K PNG is ~24 MB, as big as a photo-like one). Each run is
a fresh child process, started by a small launcher; peak RSS and CPU (user + system) come
from its own rusage (`os.wait4`). Subjects run interleaved, `--runs` rounds, medians.

- memory: 4K answers, `-j 32` and `-j 8`, N requests each: peak RSS.
- cap: a hostile 500 MB base64 answer at the default 100 MB cap: peak RSS.
- cpu: 1024x1024 answers at `-j 1, 8, 32`: CPU per image, as the difference between a run
  of N and a run of N/5 images divided by the extra images (start-up cancels out).

The SDK script needs `pip install openai`. `--src DIR` adds the easyimg of another checkout
(e.g. a worktree of main) as the baseline "before".
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from child import measure

HERE = Path(__file__).resolve().parent.parent

SDK = """
import base64, sys
from concurrent.futures import ThreadPoolExecutor
from openai import OpenAI
url, out, n, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = OpenAI(base_url=url, api_key="sk-bench", max_retries=0, timeout=600)
def one(i):
    r = client.images.generate(model="gpt-image-2", prompt=f"bench prompt {i}")
    with open(f"{out}/{i}.png", "wb") as fh:
        fh.write(base64.b64decode(r.data[0].b64_json))
with ThreadPoolExecutor(jobs) as pool:
    list(pool.map(one, range(n)))
"""

# The floor: what any client must do (one keep-alive connection per thread, read, parse,
# decode, write) and nothing else.
FLOOR = """
import base64, http.client, json, sys, threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit
url, out, n, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urlsplit(url)
local = threading.local()
def one(i):
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    body = json.dumps({"model": "gpt-image-2", "prompt": f"bench prompt {i}"})
    conn.request("POST", u.path + "/images/generations", body,
                 {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"})
    doc = json.loads(conn.getresponse().read())
    with open(f"{out}/{i}.png", "wb") as fh:
        fh.write(base64.b64decode(doc["data"][0]["b64_json"]))
with ThreadPoolExecutor(jobs) as pool:
    list(pool.map(one, range(n)))
"""


def noisy_png(width: int, height: int) -> bytes:
    from PIL import Image

    rows = os.urandom(width * 3 * 64)  # 64 rows of noise, tiled: big and quick to make
    raw = (rows * (height // 64 + 1))[: width * height * 3]
    buf = io.BytesIO()
    Image.frombytes("RGB", (width, height), raw).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


class Instant(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answer = b""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/hostile/"):
            self._endless()
            return
        body = memoryview(self.answer)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for at in range(0, len(body), 1 << 20):
            self.wfile.write(body[at : at + (1 << 20)])

    def _endless(self) -> None:
        """500 MB of base64 in one string: the client must stop at its cap."""
        head = b'{"created": 1, "data": [{"b64_json": "iVBORw0K'
        block = b"A" * (1 << 20)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(head) + 500 * len(block) + 4))
        self.end_headers()
        try:
            self.wfile.write(head)
            for _ in range(500):
                self.wfile.write(block)
            self.wfile.write(b'"}]}')
        except OSError:
            pass  # the client gave up, as it should


def answer_for(png: bytes) -> bytes:
    return json.dumps(
        {
            "created": 1700000000,
            "data": [{"b64_json": base64.b64encode(png).decode(), "revised_prompt": "bench"}],
            "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30},
        }
    ).encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # -j 32 connects at once: the default backlog of 5 drops some


class Child:
    def __init__(self, cpu: float, rss_mb: float) -> None:
        self.cpu, self.rss_mb = cpu, rss_mb


def run(args: list[str], env: dict[str, str], cwd: str | None, expect: int = 0) -> Child:
    # Started by a small process of its own: a child's peak RSS would count this
    # benchmark's own answers, hundreds of MB (child.py).
    got = measure(args, env, cwd)
    if got.code != expect:
        raise SystemExit(f"{' '.join(args)} failed ({got.code}):\n{got.err.decode()[-2000:]}")
    return Child(got.cpu, got.rss_mb)


class Subject:
    def __init__(self, name: str, src: str | None = None, env: dict[str, str] | None = None):
        self.name, self.src, self.env = name, src, env or {}

    def command(self, url: str, out: Path, prompts: Path, n: int, jobs: int) -> list[str]:
        if self.name == "sdk":
            return [sys.executable, "-c", SDK, url, str(out), str(n), str(jobs)]
        if self.name == "floor":
            return [sys.executable, "-c", FLOOR, url, str(out), str(n), str(jobs)]
        return [
            *[sys.executable, "-m", "easyimg", "batch", str(prompts), "-j", str(jobs)],
            *["-o", str(out), "--base-url", url, "--api-key", "sk-bench", "--quiet"],
        ]

    def once(self, url: str, tmp: Path, n: int, jobs: int, env: dict[str, str]) -> Child:
        prompts = tmp / f"prompts-{n}.txt"
        if not prompts.exists():
            prompts.write_text("".join(f"bench prompt {i}\n" for i in range(n)))
        out = tmp / "out"
        out.mkdir()
        home = tmp / "home"
        env = {
            **env,
            **self.env,
            "EASYIMG_CONFIG": str(home / "config.toml"),
            "EASYIMG_HISTORY": str(home / "history.jsonl"),
        }
        try:
            # easyimg runs in its checkout, so that `-m easyimg` finds that one first.
            cwd = (self.src or str(HERE)) if self.name.startswith("easyimg") else None
            child = run(self.command(url, out, prompts, n, jobs), env, cwd)
            written = len(list(out.glob("*.png")))
            if written != n:
                raise SystemExit(f"{self.name} wrote {written} images, not {n}")
            return child
        finally:
            shutil.rmtree(out)
            shutil.rmtree(home, ignore_errors=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_memory(subjects: list[Subject], url: str, tmp: Path, opts: argparse.Namespace) -> None:
    Instant.answer = answer_for(noisy_png(3840, 2160))
    size = len(base64.b64decode(json.loads(Instant.answer)["data"][0]["b64_json"]))
    print(f"memory: 3840x2160 PNG, {size / 1e6:.1f} MB decoded, {len(Instant.answer) / 1e6:.1f} MB")
    print("answer; peak RSS (MB), medians of", opts.runs, "interleaved runs")
    for jobs in (8, 32):
        n = jobs * 2
        peaks: dict[str, list[float]] = {s.name: [] for s in subjects}
        for _ in range(opts.runs):
            for s in subjects:
                peaks[s.name].append(s.once(url, tmp, n, jobs, opts.env).rss_mb)
        shown = "  ".join(f"{k} {median(v):7.1f}" for k, v in peaks.items())
        print(f"  -j {jobs:2} ({n} images): {shown}")
        if "sdk" in peaks:
            ratio = median(peaks["easyimg"]) / median(peaks["sdk"])
            print(f"           easyimg / sdk: {ratio:.2f}")


def bench_cap(subjects: list[Subject], tmp: Path, port: int, opts: argparse.Namespace) -> None:
    url = f"http://127.0.0.1:{port}/hostile/v1"
    print("\ncap: a 500 MB base64 answer at the default cap (max_image_mb 100); peak RSS (MB)")
    peaks: dict[str, list[float]] = {s.name: [] for s in subjects if s.name.startswith("easyimg")}
    for _ in range(opts.runs):
        for s in subjects:
            if s.name in peaks:
                out = tmp / "out"
                out.mkdir()
                cmd = [sys.executable, "-m", "easyimg", "gen", "bench", "-o", str(out)]
                cmd += ["--base-url", url, "--api-key", "sk-bench", "--quiet"]
                env = {**opts.env, **s.env, "EASYIMG_CONFIG": str(tmp / "none.toml")}
                env["EASYIMG_HISTORY"] = str(tmp / "history.jsonl")
                try:
                    child = run(cmd, env, s.src or str(HERE), expect=5)
                    if left := list(out.iterdir()):
                        raise SystemExit(f"{s.name} left files after the cap: {left}")
                finally:
                    shutil.rmtree(out)
                peaks[s.name].append(child.rss_mb)
    print("  " + "  ".join(f"{k} {median(v):6.1f}" for k, v in peaks.items()))


def bench_cpu(subjects: list[Subject], url: str, tmp: Path, opts: argparse.Namespace) -> None:
    Instant.answer = answer_for(noisy_png(1024, 1024))
    print(f"\ncpu: 1024x1024 PNG answers of {len(Instant.answer) / 1e6:.2f} MB; CPU ms per image")
    print(f"  (runs of {opts.n} minus runs of {opts.n // 5}, per extra image)")
    for jobs in (1, 8, 32):
        per: dict[str, list[float]] = {s.name: [] for s in subjects}
        for _ in range(opts.runs):
            for s in subjects:
                small = s.once(url, tmp, opts.n // 5, jobs, opts.env).cpu
                big = s.once(url, tmp, opts.n, jobs, opts.env).cpu
                per[s.name].append((big - small) / (opts.n - opts.n // 5) * 1000)
        shown = "  ".join(f"{k} {median(v):6.2f}" for k, v in per.items())
        mine = median(per["easyimg"])
        ratios = "  ".join(f"/{k} {mine / median(v):.2f}" for k, v in per.items() if k != "easyimg")
        print(f"  -j {jobs:2}: {shown}   easyimg {ratios}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=100, help="images per CPU run")
    ap.add_argument("--src", help="also measure the easyimg in this checkout (the baseline)")
    ap.add_argument("--only", choices=["memory", "cap", "cpu"])
    opts = ap.parse_args()
    opts.env = {k: v for k, v in os.environ.items() if not k.startswith("EASYIMG_")}
    # "easyimg" is the standard library's decoder: a stand-in module hides pybase64.
    hide = Path(tempfile.mkdtemp()) / "pybase64.py"
    hide.write_text("raise ImportError('hidden by the benchmark')\n")
    subjects = [Subject("easyimg", env={"PYTHONPATH": str(hide.parent)})]
    try:
        import pybase64  # noqa: F401

        subjects.append(Subject("easyimg-fast"))
    except ImportError:
        print("(pybase64 is not installed: no `fast` extra figures)")
    if opts.src:
        subjects.append(Subject("easyimg-before", str(Path(opts.src).resolve())))
    try:
        import openai  # noqa: F401

        subjects.append(Subject("sdk"))
    except ImportError:
        print("(openai is not installed: no SDK comparison)")
    subjects.append(Subject("floor"))
    server = Server(("127.0.0.1", 0), Instant)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores\n")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if opts.only in (None, "memory"):
            bench_memory(subjects, url, tmp, opts)
        if opts.only in (None, "cap"):
            bench_cap(subjects, tmp, server.server_address[1], opts)
        if opts.only in (None, "cpu"):
            bench_cpu(subjects, url, tmp, opts)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
