"""Growth checks (issue [8/8]): batch memory, file naming and history reading as they scale.

Against an instant server answering pre-built bytes (a tiny PNG), in a process of its own: raw
keep-alive sockets, nothing parsed past the request line and Content-Length, so that only
easyimg's own work is measured (its CPU is printed too). Each figure is the median of
--repeat runs of a fresh `easyimg` process; peak RSS and CPU come from that child's own
rusage (os.wait4).

- memory: peak RSS and CPU per item of `batch` over each of --sizes prompts (txt, jsonl, a
  resume whose manifest already holds all but the smallest size's items, and `batch --remote`
  submitting them); target: the biggest within 15 MB of the smallest, time per item flat
  (the issue's full form: `--sizes 10000,1000000`, under 120 MB and within 20 MB;
  `--quick`: 10k, 50k and 100k once each, a few minutes; `--workdir DIR` keeps the prompt
  files and resume manifests for the next run: a 990,000-line manifest takes minutes to make);
- naming: CPU of `batch --name "{slug}.{ext}"` over --names prompts sharing one slug vs as many
  distinct ones, and the default template with prompts sharing their first 48 slug chars;
  target: within 1.2x;
- history: `history -n 5` and `usage` over a synthetic --history-lines-line history file, as
  an older easyimg left it (no summary: the first `usage` makes one) and as batches write it
  (their writer carries the summary on); targets: under 0.3 s and 2 s at 1M lines.

    python benchmarks/bench_scale.py [--only memory,naming,history] [--sizes 5000,50000] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from child import measure

SRC: str | None = None  # --src: a checkout to measure instead of the installed easyimg


def easyimg() -> list[str]:
    script = Path(sys.executable).with_name("easyimg")
    if SRC is None and script.exists():
        return [str(script)]
    return [sys.executable, "-m", "easyimg"]


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    parts = chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + parts


def _response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def answers() -> dict[bytes, bytes]:
    """Whole pre-built HTTP responses, chosen by the last path segment of the request."""
    b64 = base64.b64encode(tiny_png()).decode()
    image = {
        "created": 1,
        "data": [{"b64_json": b64}],
        "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30},
    }
    return {
        b"files": _response(b'{"id":"file-bench","object":"file","purpose":"batch"}'),
        b"batches": _response(
            b'{"id":"batch_bench","status":"validating","input_file_id":"file-bench"}'
        ),
        b"models": _response(b'{"object":"list","data":[{"id":"gpt-image-1","object":"model"}]}'),
        b"": _response(json.dumps(image).encode()),
    }


def serve(port_out: int) -> None:
    """The benchmark's server, in a process of its own: one thread, non-blocking keep-alive
    sockets, and no parsing past the request line and Content-Length, so that its CPU is a
    small fraction of the client's. Bodies (a `batch --remote` upload) are counted and dropped."""
    import selectors
    import socket

    canned = answers()
    sel = selectors.DefaultSelector()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ, None)
    os.write(port_out, f"{lsock.getsockname()[1]}\n".encode())
    os.close(port_out)

    class Conn:
        __slots__ = ("answer", "buf", "left")

        def __init__(self) -> None:
            self.buf = b""
            self.left = 0  # body bytes still to drop
            self.answer = b""

    def handle(sock: socket.socket, conn: Conn) -> bool:
        try:
            data = sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data:
            return False
        while data:
            if conn.left:
                if len(data) <= conn.left:
                    conn.left -= len(data)
                    data = b""
                else:
                    data = data[conn.left :]
                    conn.left = 0
                if conn.left == 0:
                    sock.setblocking(True)
                    sock.sendall(conn.answer)
                    sock.setblocking(False)
                continue
            buf = conn.buf + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                conn.buf, data = buf, b""
                continue
            head, data, conn.buf = buf[: end + 2], buf[end + 4 :], b""
            target = head[: head.find(b"\r\n")].split(b" ")[1].split(b"?")[0]
            last = target.rsplit(b"/", 1)[-1]
            conn.answer = canned.get(last if last in (b"files", b"batches", b"models") else b"")
            at = head.lower().find(b"content-length:")
            conn.left = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
            if conn.left == 0:
                sock.setblocking(True)
                sock.sendall(conn.answer)
                sock.setblocking(False)
        return True

    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    sock, _ = lsock.accept()
                except BlockingIOError:
                    continue
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(sock, selectors.EVENT_READ, Conn())
            elif not handle(key.fileobj, key.data):  # type: ignore[arg-type]
                sel.unregister(key.fileobj)
                key.fileobj.close()


class Server:
    """`serve` started in a child process; its own CPU is read back when it is stopped."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-fd", str(write)], pass_fds=(write,)
        )
        os.close(write)
        with os.fdopen(read) as fh:
            port = int(fh.readline())
        self.url = f"http://127.0.0.1:{port}/v1"

    def cpu(self) -> float:
        """The server's CPU so far (user + system), from /proc (Linux), else 0."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


class Run:
    def __init__(self, wall: float, cpu: float, rss_mb: float, server: float = 0.0) -> None:
        self.wall, self.cpu, self.rss_mb = wall, cpu, rss_mb
        self.server = server  # the server's CPU over the run


def run(args: list[str], env: dict[str, str]) -> Run:
    """One child: wall time, its CPU (user + system) and its peak RSS (measured apart from
    this process, see child.py)."""
    # In the checkout itself, so that `-m easyimg` finds that one before any other.
    got = measure(args, env, cwd=SRC)
    if got.code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({got.code}):\n{got.err.decode()[-2000:]}")
    return Run(got.wall, got.cpu, got.rss_mb)


def remove(folder: Path) -> None:
    """A run's output, removed by `rm`: listing a million files here would grow this process."""
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def median_of(repeat: int, make: Callable[[int], Run]) -> Run:
    runs = [make(i) for i in range(repeat)]
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.rss_mb for r in runs),
        statistics.median(r.server for r in runs),
    )


def write_prompts(path: Path, count: int, kind: str, prompt: Callable[[int], str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            text = prompt(i)
            f.write(json.dumps({"prompt": text}) + "\n" if kind == "jsonl" else text + "\n")


def distinct(i: int) -> str:
    return f"benchmark prompt number {i}"


SHARED_PREFIX = "a lighthouse on a cliff above a stormy sea at dusk with gulls"


def shared_slug(i: int) -> str:
    # Digits are slug words, so the number goes past the 48-character cut: one slug for all.
    return f"{SHARED_PREFIX} variant {i}"


def resume_manifest(path: Path, prompts: Path, done: int) -> None:
    """A manifest in which the first `done` items of `prompts` are ok (keys from easyimg itself).

    Written once per prompt file and size, then copied into each run's folder."""
    if path.exists():
        return
    sys.path.insert(0, SRC or str(Path(__file__).resolve().parents[1]))
    from easyimg.batch.prompts import Defaults, PromptFile, kind_of

    defaults = Defaults(model="gpt-image-1", options={"size": "1024x1024", "quality": "low"})
    kind = kind_of(str(prompts))
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as m:
        if done:
            for n, item in enumerate(PromptFile(lambda: prompts.open("rb"), kind, defaults, "p")):
                if n >= done:
                    break
                m.write(
                    json.dumps(
                        {
                            "line": item.line,
                            "key": item.key,
                            "status": "ok",
                            "files": [f"done-{n}.png"],
                            "usage": None,
                            "error": None,
                            "exit_code": None,
                            "prompt": item.prompt,
                            "time": "2026-01-01T00:00:00Z",
                        },
                        separators=(",", ":"),
                    )
                    + "\n"
                )
    tmp.rename(path)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_memory(opts: argparse.Namespace, server: Server, tmp: Path, env: dict[str, str]) -> None:
    url = server.url
    common = ["-m", "gpt-image-1", "-s", "1024x1024", "-q", "low", "--base-url", url, "--quiet"]
    common += ["-j", str(opts.jobs)]
    sizes = sorted(int(x) for x in opts.sizes.split(",")) if opts.sizes else [opts.small, opts.big]
    small = sizes[0]
    print(f"\n## memory: batch -j {opts.jobs}, peak RSS (median of {opts.repeat})\n")
    print(f"resume: a file of N lines whose manifest holds N - {small}: {small} items are run\n")
    print(
        "| case | lines | run | peak RSS | vs smallest | wall | CPU | CPU per item "
        "| wall per item | server CPU per item | load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for case in opts.memory_cases.split(","):
        kind = "jsonl" if case == "jsonl" else "txt"
        figures: dict[int, Run] = {}
        for size in sizes:
            prompts = tmp / f"mem-{size}.{kind}"
            if not prompts.exists():
                write_prompts(prompts, size, kind, distinct)
            to_run = small if case == "resume" else size
            manifest = tmp / f"manifest-{size}-{size - small}.jsonl"
            if case == "resume":
                made = time.perf_counter()
                resume_manifest(manifest, prompts, size - small)
                print(
                    f"<!-- manifest of {size - small} lines written in "
                    f"{time.perf_counter() - made:.1f} s -->",
                    flush=True,
                )

            def once(rep: int, size: int = size, prompts: Path = prompts, case: str = case) -> Run:
                out = tmp / f"mem-{case}-{size}-{rep}"
                remove(out)
                if case == "resume":
                    out.mkdir(parents=True)
                    shutil.copyfile(
                        tmp / f"manifest-{size}-{size - small}.jsonl",
                        out / "easyimg-manifest.jsonl",
                    )
                args = [*easyimg(), "batch", str(prompts), "-o", str(out), *common]
                if case == "remote":
                    # Submitting only: the requests files, the uploads and the state files.
                    args = [*args[:-2], "--remote"]
                before = server.cpu()
                r = run(args, env)
                r.server = server.cpu() - before
                remove(out)
                return r

            figures[size] = r = median_of(opts.repeat, once)
            grow = "" if size == small else f"{r.rss_mb - figures[small].rss_mb:+.1f} MB"
            print(
                f"| {case} | {size} | {to_run} | {r.rss_mb:.1f} MB | {grow} | {r.wall:.1f} s | "
                f"{r.cpu:.1f} s | {r.cpu / to_run * 1000:.3f} ms | "
                f"{r.wall / to_run * 1000:.3f} ms | {r.server / to_run * 1000:.3f} ms | "
                f"{load()} |",
                flush=True,
            )


def bench_naming(opts: argparse.Namespace, url: str, tmp: Path, env: dict[str, str]) -> None:
    common = ["-m", "gpt-image-1", "-s", "1024x1024", "-q", "low", "--base-url", url, "--quiet"]
    common += ["-j", str(opts.jobs), "--no-metadata"]
    n = opts.names
    print(f"\n## naming: {n} items, batch CPU (user+sys, median of {opts.repeat})\n")
    print("| template | distinct prompts | shared slug | ratio |")
    print("|---|---:|---:|---:|")
    for label, template in (("{slug}.{ext}", ["--name", "{slug}.{ext}"]), ("default", [])):
        cpu = {}
        for which, make in (("distinct", distinct), ("shared", shared_slug)):
            prompts = tmp / f"names-{which}.txt"
            write_prompts(prompts, n, "txt", make)

            def once(
                rep: int,
                which: str = which,
                prompts: Path = prompts,
                template: list[str] = template,
            ) -> Run:
                out = tmp / f"names-{which}-{rep}"
                shutil.rmtree(out, ignore_errors=True)
                args = [*easyimg(), "batch", str(prompts), "-o", str(out), *common, *template]
                r = run(args, env)
                written = sum(1 for p in out.iterdir() if p.suffix == ".png")
                if written != n:
                    raise SystemExit(f"naming {which}: {written} images written, {n} expected")
                shutil.rmtree(out, ignore_errors=True)
                return r

            cpu[which] = median_of(opts.repeat, once).cpu
        print(
            f"| {label} | {cpu['distinct']:.2f} s | {cpu['shared']:.2f} s | "
            f"{cpu['shared'] / cpu['distinct']:.2f}x |"
        )


def history_entry(i: int) -> dict[str, object]:
    models = ("gpt-image-1", "gpt-image-2", "dall-e-3")
    return {
        "time": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
        "command": "batch",
        "model": models[i % 3],
        "prompt": f"benchmark prompt number {i} with a few more words in it",
        "parameters": {"model": models[i % 3], "n": 1, "size": "1024x1024"},
        "files": [f"/tmp/out/20260101-120000-benchmark-prompt-number-{i}-1.png"],
        "usage": {"input_tokens": 10, "output_tokens": 4160, "total_tokens": 4170},
        "request_id": None,
        "base_url": "http://127.0.0.1:8000/v1",
        "status": "ok",
    }


def write_history(path: Path, lines: int) -> None:
    """A history of `lines` lines as an older easyimg left it: no summary beside it."""
    with path.open("w", encoding="utf-8") as f:
        buf = io.StringIO()
        for i in range(lines):
            buf.write(json.dumps(history_entry(i), separators=(",", ":")) + "\n")
            if i % 10000 == 9999:
                f.write(buf.getvalue())
                buf = io.StringIO()
        f.write(buf.getvalue())


def write_history_as_batches(path: Path, lines: int, runs: int = 10) -> None:
    """The same lines written by `runs` batches through easyimg's own history writer, which
    carries the `usage` summary on as it goes."""
    sys.path.insert(0, SRC or str(Path(__file__).resolve().parents[1]))
    from easyimg.history import Appender

    per_run = -(-lines // runs)
    for start in range(0, lines, per_run):
        with Appender(path) as journal:
            for i in range(start, min(lines, start + per_run)):
                journal.append(history_entry(i))


def bench_history(opts: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    path = tmp / "history.jsonl"
    write_history(path, opts.history_lines)
    size_mb = path.stat().st_size / 1e6
    henv = {**env, "EASYIMG_HISTORY": str(path)}
    print(f"\n## history: {opts.history_lines} lines ({size_mb:.0f} MB), median of {opts.repeat}\n")
    print("| command | wall | CPU | peak RSS |")
    print("|---|---:|---:|---:|")
    for args in (["history", "-n", "5"], ["usage"], ["usage", "--since", "2026-06-01"]):
        # The first `usage` may build a summary beside the file: count it apart.
        first = run([*easyimg(), *args], henv)
        r = median_of(opts.repeat, lambda _, args=args: run([*easyimg(), *args], henv))
        print(
            f"| {' '.join(args)} | {r.wall:.3f} s (first {first.wall:.3f} s) | "
            f"{r.cpu:.3f} s | {r.rss_mb:.1f} MB |"
        )
    # Written by batches instead: the very first `usage` finds the summary made.
    batches = tmp / "history-batches.jsonl"
    made = time.perf_counter()
    write_history_as_batches(batches, opts.history_lines)
    made = time.perf_counter() - made
    first = run([*easyimg(), "usage"], {**env, "EASYIMG_HISTORY": str(batches)})
    print(
        f"| usage, first ever, after 10 batches wrote the lines | {first.wall:.3f} s | "
        f"{first.cpu:.3f} s | {first.rss_mb:.1f} MB |"
    )
    print(
        f"\n<!-- the 10 batches' history writes: {made:.1f} s, "
        f"{made / opts.history_lines * 1e6:.1f} us per line -->"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="memory,naming,history")
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--big", type=int, default=50000)
    parser.add_argument(
        "--sizes", help="prompt counts for the memory check, e.g. 10000,100000,1000000"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the memory growth check at 10k, 50k and 100k, once each (a few minutes)",
    )
    parser.add_argument("--memory-cases", default="txt,jsonl,resume,remote")
    parser.add_argument("--names", type=int, default=2000)
    parser.add_argument("--history-lines", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", help="measure the easyimg package in this checkout (a baseline)")
    parser.add_argument(
        "--workdir", help="keep prompt files and manifests here, reused by later runs"
    )
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_fd is not None:
        serve(opts.serve_fd)
        return
    if opts.quick:
        opts.sizes = opts.sizes or "10000,50000,100000"
        opts.repeat = 1
        opts.only = "memory" if opts.only == parser.get_default("only") else opts.only
    global SRC
    SRC = opts.src

    server = Server()
    tmp = Path(opts.workdir or tempfile.mkdtemp(prefix="easyimg-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASYIMG_")}
    env |= {"EASYIMG_HISTORY": str(tmp / "run-history.jsonl"), "NO_COLOR": "1"}
    env["EASYIMG_CONFIG"] = str(tmp / "config.toml")
    env["XDG_DATA_HOME"] = str(tmp / "data")  # where `batch --remote` keeps its state copies
    if SRC is not None:
        env["PYTHONPATH"] = SRC
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load()}, "
        f"server (pid {server.proc.pid}) at {server.url}",
        flush=True,
    )
    try:
        only = opts.only.split(",")
        if "memory" in only:
            bench_memory(opts, server, tmp, env)
        if "naming" in only:
            bench_naming(opts, server.url, tmp, env)
        if "history" in only:
            bench_history(opts, tmp, env)
    finally:
        server.close()
        if opts.workdir:
            for name in ("run-history.jsonl", "run-history.jsonl.summary.json"):
                (tmp / name).unlink(missing_ok=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload at the end {load()}")


if __name__ == "__main__":
    main()
