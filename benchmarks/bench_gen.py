"""Client overhead of `easyimg gen` against the openai SDK, and decode+write time (SPEC §7).

    python benchmarks/bench_gen.py [--runs 5] [--n 10] [--size 3840x2160]

An instant local server answers every request with the same prebuilt JSON of N noisy PNGs
(noise does not compress, so each PNG is as big as a real photo-like 4K image). Each run is
a fresh process; wall time and peak RSS come from the child's resource usage. The openai SDK
comparison runs when the `openai` package is installed (`pip install openai`).
"""

from __future__ import annotations

import argparse
import base64
import http.server
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EASYIMG = Path(sys.executable).parent / "easyimg"

SDK_SCRIPT = """
import base64, sys
from openai import OpenAI
client = OpenAI(base_url=sys.argv[1], api_key="sk-bench", max_retries=0, timeout=600)
r = client.images.generate(model="gpt-image-2", prompt="bench", n=int(sys.argv[3]),
                           size=sys.argv[4])
for i, item in enumerate(r.data):
    with open(f"{sys.argv[2]}/{i}.png", "wb") as fh:
        fh.write(base64.b64decode(item.b64_json))
"""


def noisy_png(width: int, height: int, seed: int, noise: float = 1.0) -> bytes:
    """A PNG whose top `noise` fraction is random (incompressible) and the rest flat."""
    from PIL import Image

    rows = os.urandom(width * 3 * 64)  # 64 rows of noise, tiled: big and quick to make
    noisy = (rows * (height // 64 + 1))[: width * 3 * int(height * noise)]
    raw = noisy + bytes(width * height * 3 - len(noisy))
    img = Image.frombytes("RGB", (width, height), raw)
    img.putpixel((0, 0), (seed % 256, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def build_answer(n: int, size: str, path: Path, noise: float) -> tuple[int, int]:
    width, height = (int(v) for v in size.split("x"))
    png = noisy_png(width, height, 0, noise)
    b64 = base64.b64encode(png).decode()
    with path.open("w") as fh:
        fh.write('{"created": 1700000000, "data": [')
        for i in range(n):
            fh.write(("," if i else "") + json.dumps({"b64_json": b64}))
        fh.write(
            '], "usage": {"total_tokens": 100, "input_tokens": 10, "output_tokens": 90,'
            ' "input_tokens_details": {"text_tokens": 10, "image_tokens": 0}}}'
        )
    return len(png), path.stat().st_size


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body_path: Path

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        size = self.body_path.stat().st_size
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(size))
        self.end_headers()
        with self.body_path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: measure the SDK last,
    # or run each command in its own wrapper so one does not mask the other.
    return wall, max(peak, before) / 1024


def measure_isolated(cmd: list[str]) -> tuple[float, float]:
    wrapper = [
        sys.executable,
        "-c",
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],capture_output=True);"
        "w=time.perf_counter()-t;"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "sys.stderr.buffer.write(p.stderr);"
        "print(w, r/1024, p.returncode)",
        *cmd,
    ]
    out = subprocess.run(wrapper, capture_output=True, text=True)
    wall, peak, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{out.stderr}")
    return float(wall), float(peak)


def decode_write_ms(png_bytes: int, runs: int = 30) -> float:
    """Median ms to decode a base64 PNG of about `png_bytes` and write it with metadata."""
    from datetime import datetime

    from easyimg.generate import png_text
    from easyimg.output import plan_output, save_image

    width = 1024
    height = max(64, png_bytes // (width * 3))
    png = noisy_png(width, height, 1)
    b64 = base64.b64encode(png).decode()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_output(tmp, template=None, count=1, overwrite=False)
        body = {"model": "gpt-image-2", "prompt": "bench", "n": 1}
        for i in range(runs):
            start = time.perf_counter()
            data = base64.b64decode(b64)
            save_image(
                [data],
                plan,
                index=i,
                prompt="bench",
                model="gpt-image-2",
                now=datetime.now(),
                png_text=png_text(body, None, 1),
            )
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, len(png)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--size", default="3840x2160")
    ap.add_argument(
        "--noise",
        type=float,
        default=0.75,
        help="incompressible fraction of each image; 0.75 gives SPEC's ~250 MB "
        "answer for 10 4K PNGs",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        png_size, answer_size = build_answer(args.n, args.size, tmpdir / "answer.json", args.noise)
        Handler.body_path = tmpdir / "answer.json"
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        print(
            f"answer: {args.n} x {args.size} PNG, {png_size / 1e6:.1f} MB each, "
            f"JSON {answer_size / 1e6:.0f} MB; {args.runs} runs each, medians\n"
        )

        def easyimg_cmd(out: Path) -> list[str]:
            return [
                str(EASYIMG),
                "gen",
                "bench",
                "-n",
                str(args.n),
                "-s",
                args.size,
                "-o",
                str(out),
                "--base-url",
                base,
                "--quiet",
                "--no-validate",
            ]

        def sdk_cmd(out: Path) -> list[str]:
            return [sys.executable, "-c", SDK_SCRIPT, base, str(out), str(args.n), args.size]

        try:
            import openai  # noqa: F401 - only to know whether the comparison can run

            have_sdk = True
        except ImportError:
            have_sdk = False
        rows = []
        for label, make in [("easyimg gen", easyimg_cmd), ("openai SDK script", sdk_cmd)]:
            if label.startswith("openai") and not have_sdk:
                rows.append((label, None, None))
                continue
            walls, peaks = [], []
            for run in range(args.runs):
                out = tmpdir / f"{label.split()[0]}-{run}"
                out.mkdir()
                wall, peak = measure_isolated(make(out))
                walls.append(wall)
                peaks.append(peak)
                for f in out.iterdir():
                    f.unlink()
            rows.append((label, statistics.median(walls), statistics.median(peaks)))
        server.shutdown()

    print("| client | wall time (s) | peak RSS (MB) |")
    print("|---|---:|---:|")
    for label, wall, peak in rows:
        if wall is None:
            print(f"| {label} | (openai not installed) | |")
        else:
            print(f"| {label} | {wall:.2f} | {peak:.0f} |")
    if rows[1][1] is not None and rows[0][1] is not None:
        print(
            f"\neasyimg / SDK: wall {rows[0][1] / rows[1][1]:.2f}x, "
            f"peak RSS {rows[0][2] / rows[1][2]:.2f}x"
        )
    ms, size = decode_write_ms(4_000_000)
    print(
        f"\ndecode + write (with PNG text chunks) of a {size / 1e6:.1f} MB PNG: "
        f"{ms:.1f} ms median (target < 20 ms)"
    )


if __name__ == "__main__":
    main()
