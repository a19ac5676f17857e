"""Peak memory of `easyimg gen --api chat` reading a 4K image from chat answers (SPEC §7).

    python benchmarks/bench_chat.py [--runs 5] [--size 5504x3072] [--noise 0.15]

An instant local server answers every request with one prebuilt body holding the same noisy
4K PNG (about 10 MB of base64, as a Gemini 4K image is): new-api's JSON (markdown in
`content`), new-api's stream (the markdown in one `delta.content`), the same split over
1,000 deltas, and OpenRouter's stream (`delta.images`). The baseline, run in the same
session, is the images API's JSON answer (`b64_json`) with the same bytes. Each run is a
fresh process; peak RSS comes from its resource usage. SPEC §7's bound is 150 MB.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_gen import EASYIMG, measure_isolated, noisy_png  # noqa: E402 - beside this file

BOUND_MB = 150


def _chunk(delta: dict[str, object], finish: str | None = None) -> str:
    doc = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gemini-3-pro-image-preview",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(doc)}\n\n"


def write_bodies(png: bytes, tmp: Path) -> dict[str, tuple[Path, str]]:
    """Each answer shape as a file, with its content type."""
    b64 = base64.b64encode(png).decode()
    markdown = f"![image](data:image/png;base64,{b64})"
    usage = {"prompt_tokens": 5, "completion_tokens": 2000, "total_tokens": 2005}
    bodies: ClassVar[dict[str, tuple[Path, str]]] = {}

    def put(name: str, text: str, ctype: str) -> None:
        path = tmp / f"{name}.body"
        path.write_text(text)
        bodies[name] = (path, ctype)

    put(
        "images",
        json.dumps({"created": 1700000000, "data": [{"b64_json": b64}], "usage": usage}),
        "application/json",
    )
    message = {"role": "assistant", "content": "Here it is.\n" + markdown}
    put(
        "chat-json",
        json.dumps(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion",
                "created": 1700000000,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            }
        ),
        "application/json",
    )
    end = _chunk({}, "stop") + f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n"
    end += "data: [DONE]\n\n"
    put(
        "chat-stream",
        _chunk({"role": "assistant", "content": "Here it is.\n"})
        + _chunk({"content": markdown})
        + end,
        "text/event-stream",
    )
    step = len(markdown) // 1000 + 1
    pieces = "".join(
        _chunk({"content": markdown[i : i + step]}) for i in range(0, len(markdown), step)
    )
    put("chat-stream-split", pieces + end, "text/event-stream")
    url = f"data:image/png;base64,{b64}"
    images = {
        "role": "assistant",
        "content": "",
        "images": [{"type": "image_url", "image_url": {"url": url}}],
    }
    put(
        "openrouter-stream",
        _chunk({"role": "assistant", "content": "ok"}) + _chunk(images) + end,
        "text/event-stream",
    )
    return bodies


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: ClassVar[dict[str, tuple[Path, str]]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        # /<shape>/v1/...: the shape is the first path segment.
        path, ctype = self.bodies[self.path.split("/")[1]]
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(path.stat().st_size))
        self.end_headers()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                self.wfile.write(chunk)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", default="5504x3072", help="Gemini 3 Pro's 4K at 16:9")
    ap.add_argument("--noise", type=float, default=0.15, help="incompressible fraction")
    ap.add_argument("-n", type=int, default=1, help="images a command asks for (requests)")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    png = noisy_png(width, height, 0, args.noise)
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        Handler.bodies = write_bodies(png, tmpdir)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        root = f"http://127.0.0.1:{server.server_address[1]}"
        b64_mb = len(base64.b64encode(png)) / 1e6
        print(
            f"one {args.size} PNG, {len(png) / 1e6:.1f} MB ({b64_mb:.1f} MB of base64); "
            f"-n {args.n}; {args.runs} runs each, medians\n"
        )
        rows = []
        for shape in Handler.bodies:
            api = "images" if shape == "images" else "chat"
            peaks, walls = [], []
            for run in range(args.runs):
                out = tmpdir / f"{shape}-{run}"
                out.mkdir()
                cmd = [
                    str(EASYIMG),
                    "gen",
                    "bench",
                    "-m",
                    "gemini-3-pro-image-preview",
                    "--api",
                    api,
                    "-n",
                    str(args.n),
                    "-o",
                    str(out),
                    "--base-url",
                    f"{root}/{shape}/v1",
                    "--quiet",
                    "--no-metadata",
                ]
                wall, peak = measure_isolated(cmd)
                written = list(out.iterdir())
                assert len(written) == args.n and written[0].read_bytes() == png, shape
                for f in written:
                    f.unlink()
                walls.append(wall)
                peaks.append(peak)
            rows.append((shape, statistics.median(walls), statistics.median(peaks)))
        server.shutdown()
    base = rows[0][2]
    print("| answer | wall (s) | peak RSS (MB) | vs images API |")
    print("|---|---:|---:|---:|")
    for shape, wall, peak in rows:
        print(f"| {shape} | {wall:.2f} | {peak:.0f} | {peak / base:.2f}x |")
    worst = max(peak for _, _, peak in rows)
    verdict = "under" if worst < BOUND_MB else "OVER"
    print(f"\nworst peak {worst:.0f} MB: {verdict} the {BOUND_MB} MB bound")


if __name__ == "__main__":
    main()
