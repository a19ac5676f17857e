"""Gallery of a large offline batch: build time (cold and warm), page and thumbnail sizes, and
the page's load time in headless Chromium.

Baselines in the same session: a plain serial Pillow loop that thumbnails every image (what a
cold build costs without the thread pool), and `easyimg --version` (the floor for a warm build).

    python benchmarks/bench_gallery.py [--images 1000] [--size 1024x1024] [--repeat 3]
                                       [--dir /tmp/g1000]   # reuse a folder made before
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

THUMBS = ".easyimg-thumbs"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def easyimg() -> list[str]:
    script = Path(sys.executable).with_name("easyimg")
    return [str(script)] if script.exists() else [sys.executable, "-m", "easyimg"]


def timed(args: list[str], cpu: list[float] | None = None) -> float:
    """Wall seconds of a command; its CPU seconds (user + system) appended to `cpu`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def scaled_page(page: Path, times: int) -> Path:
    """The page with its cards repeated: how a folder of `times` as many images would load."""
    html = page.read_text(encoding="utf-8")
    start = html.index('<ul class="g" id="g">\n') + len('<ul class="g" id="g">\n')
    end = html.index("\n</ul>")
    cards = html[start:end] + "\n"
    bigger = page.with_name(f"index-x{times}.html")
    bigger.write_text(html[:start] + cards * times + html[end + 1 :], encoding="utf-8")
    return bigger


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def serial_thumbnails(folder: Path, cpu: list[float]) -> float:
    """The baseline: every image thumbnailed to WebP in one thread, nothing cached."""
    start, used = time.perf_counter(), time.process_time()
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as im:
            im.thumbnail((256, 256))
            im.save(io.BytesIO(), "WEBP", quality=80)
    cpu.append(time.process_time() - used)
    return time.perf_counter() - start


def make_batch(folder: Path, images: int, size: str, jobs: int) -> float:
    prompts = folder.parent / f"{folder.name}-prompts.txt"
    prompts.write_text(
        "".join(f"gallery benchmark prompt {i}: a lighthouse at dusk\n" for i in range(images))
    )
    args = [*easyimg(), "batch", str(prompts), "--offline", "-o", str(folder), "-j", str(jobs)]
    return timed([*args, "-s", size, "-q", "low", "--quiet"])


def browser_load(page: Path, repeat: int) -> dict[str, float] | None:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("no selenium: page load not measured")
        return None
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path("/usr/bin/chromium").exists() or not Path(driver_path).exists():
        print("no /usr/bin/chromium or chromedriver: page load not measured")
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="easyimg-bench-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    loads, ready, filters = [], [], []
    try:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        for _ in range(repeat + 1):  # the first load warms the disk cache; not counted
            driver.get(page.as_uri() + f"?{time.monotonic_ns()}")
            nav = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [n.domContentLoadedEventEnd, n.loadEventEnd];"
            )
            filt = driver.execute_script(
                "const q = document.getElementById('q'); const t = performance.now();"
                "q.value = 'prompt 99'; q.dispatchEvent(new Event('input'));"
                "const shown = document.querySelectorAll('#g > li:not([hidden])').length;"
                "const d = performance.now() - t; q.value = '';"
                "q.dispatchEvent(new Event('input')); return [d, shown];"
            )
            ready.append(nav[0])
            loads.append(nav[1])
            filters.append(filt[0])
        ready, loads, filters = ready[1:], loads[1:], filters[1:]
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return {
        "dom_ready_ms": statistics.median(ready),
        "load_ms": statistics.median(loads),
        "load_min_ms": min(loads),
        "load_max_ms": max(loads),
        "filter_ms": statistics.median(filters),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="batch folder to use (made if missing)")
    parser.add_argument(
        "--scale", type=int, default=10, help="also load the page with its cards repeated N times"
    )
    opts = parser.parse_args()

    tmp = None
    if opts.dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="easyimg-bench-gallery-"))
        folder = tmp / "out"
    else:
        folder = opts.dir
    try:
        made = None
        if not (folder / "easyimg-manifest.jsonl").exists():
            made = make_batch(folder, opts.images, opts.size, opts.jobs)
        count = len(list(folder.glob("*.png")))
        gallery = [*easyimg(), "gallery", str(folder), "--quiet"]
        version = statistics.median(timed([*easyimg(), "--version"]) for _ in range(5))
        base_cpu: list[float] = []
        baseline = statistics.median(
            serial_thumbnails(folder, base_cpu) for _ in range(opts.repeat)
        )
        cold: list[float] = []
        warm: list[float] = []
        cold_cpu: list[float] = []
        warm_cpu: list[float] = []
        for _ in range(opts.repeat):
            shutil.rmtree(folder / THUMBS, ignore_errors=True)
            cold.append(timed(gallery, cold_cpu))
            warm.append(timed(gallery, warm_cpu))
        page = folder / "index.html"
        load = browser_load(page, opts.repeat)
        big = scaled_page(page, opts.scale) if opts.scale > 1 else None
        big_load = browser_load(big, opts.repeat) if big is not None else None
        load_avg = os.getloadavg()

        print(
            f"{count} images of {opts.size} ({folder_bytes(folder) / 1e6:.1f} MB) in {folder}; "
            f"median of {opts.repeat}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs, "
            f"load average {load_avg[0]:.1f} at the end"
        )
        if made is not None:
            print(f"made by `easyimg batch --offline -j {opts.jobs}` in {made:.1f} s")
        print()
        med = statistics.median
        print("| measure | median | min-max | CPU (user+sys) | baseline | ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        print(
            f"| build, first run (no thumbnails) | {med(cold):.2f} s | "
            f"{min(cold):.2f}-{max(cold):.2f} s | {med(cold_cpu):.2f} s | serial Pillow loop "
            f"{baseline:.2f} s (CPU {med(base_cpu):.2f} s) | {med(cold) / baseline:.2f} |"
        )
        print(
            f"| build, second run (thumbnails reused) | {med(warm):.2f} s | "
            f"{min(warm):.2f}-{max(warm):.2f} s | {med(warm_cpu):.2f} s | `easyimg --version` "
            f"{version:.2f} s | {med(warm) / version:.2f} |"
        )
        for cards, measured in ((count, load), (count * opts.scale, big_load)):
            if measured is None:
                continue
            print(
                f"| page load in Chromium, {cards:,} cards (navigation start to load event) | "
                f"{measured['load_ms']:.0f} ms | {measured['load_min_ms']:.0f}-"
                f"{measured['load_max_ms']:.0f} ms | | | |"
            )
            print(
                f"| DOMContentLoaded, {cards:,} cards | {measured['dom_ready_ms']:.0f} ms | | | | |"
            )
            print(
                f"| filter over {cards:,} cards (one keystroke) | {measured['filter_ms']:.1f} ms "
                "| | | | |"
            )
        print()
        thumbs = folder / THUMBS
        print(
            f"index.html: {page.stat().st_size / 1e3:.0f} KB "
            f"({page.stat().st_size / max(1, count):.0f} bytes per card); "
            f"{THUMBS}/: {folder_bytes(thumbs) / 1e6:.2f} MB in {len(list(thumbs.iterdir()))} "
            f"files ({folder_bytes(thumbs) / max(1, count) / 1e3:.1f} KB each)"
        )
        if big is not None:
            print(f"{big.name} ({count * opts.scale:,} cards): {big.stat().st_size / 1e6:.1f} MB")
            big.unlink()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
