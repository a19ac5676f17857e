"""The gallery page in a real headless Chromium: thumbnails load, filter, lightbox, keys."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from easyimg.gallery import build

from .test_gallery import make_batch_folder, manifest, ok, png

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Chromium as root in a container: no sandbox, no GPU, nothing that phones home.
FLAGS = (
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


def _chromedriver() -> str | None:
    for candidate in ("/usr/bin/chromedriver", shutil.which("chromedriver")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    chromedriver = _chromedriver()
    if not CHROMIUM.exists() or chromedriver is None:
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, chromedriver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        yield browser
    finally:
        browser.quit()


def viewport(driver: Any, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def visible_prompts(driver: Any) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#g > li')].filter(c => !c.hidden)"
        ".map(c => c.querySelector('p').textContent)"
    )


def test_the_page_in_chromium(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    folder = make_batch_folder(tmp_path / "out")
    for line, prompt in ((5, "a green parrot"), (6, "a red kite over hills")):
        (folder / f"img-{line}.png").write_bytes(png(prompt, "gpt-image-1", size=(800, 500)))
        manifest(folder, ok(line, f"img-{line}.png", prompt))
    page = build(folder).page
    ARTIFACTS.mkdir(exist_ok=True)

    viewport(driver, 1280, 800)
    driver.get(page.as_uri())
    WebDriverWait(driver, 5, poll_frequency=0.05).until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('#g img')].every(i => i.complete)"
        )
    )
    widths = driver.execute_script(
        "return [...document.querySelectorAll('#g img')].map(i => i.naturalWidth)"
    )
    assert widths == [256] * 5
    # The page's own script and style ran under its Content-Security-Policy: no complaints.
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    driver.save_screenshot(str(ARTIFACTS / "gallery-1280.png"))

    buttons = driver.find_elements(By.CSS_SELECTOR, "#g button.cp")
    assert [b.get_attribute("title") for b in buttons] == [
        f"easyimg rerun img-{n}.png" for n in (1, 2, 3, 5, 6)
    ]

    everything = visible_prompts(driver)
    assert len(everything) == 6
    box = driver.find_element(By.ID, "q")
    box.send_keys("red")
    assert visible_prompts(driver) == ["a red fox in snow", "a red kite over hills"]
    assert driver.find_element(By.ID, "n").text == "2 of 6 shown"
    box.clear()
    box.send_keys(" ")  # an input event with no words: everything again
    Select(driver.find_element(By.ID, "fm")).select_by_value("gpt-image-1")
    assert visible_prompts(driver) == ["a green parrot", "a red kite over hills"]
    Select(driver.find_element(By.ID, "fm")).select_by_value("")
    Select(driver.find_element(By.ID, "fs")).select_by_value("error")
    assert visible_prompts(driver) == ["a forbidden thing"]
    Select(driver.find_element(By.ID, "fs")).select_by_value("")
    assert visible_prompts(driver) == everything

    def state() -> list[Any]:
        return driver.execute_script(
            "const lb = document.getElementById('lb');"
            "return [lb.open, document.getElementById('lbp').textContent,"
            " document.getElementById('lbi').getAttribute('src'),"
            " document.getElementById('lbk').textContent,"
            " document.getElementById('lbc').textContent]"
        )

    driver.find_elements(By.CSS_SELECTOR, "#g a")[1].click()
    assert state() == [
        True,
        "<script>alert(1)</script>",
        "img-2.png",
        "2 of 5",
        "easyimg rerun img-2.png",
    ]
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert state()[1:4] == ["blue whale, deep sea", "img-3.png", "3 of 5"]
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)  # past the failed item
    assert state()[1:4] == ["a green parrot", "img-5.png", "4 of 5"]
    driver.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    assert state()[1] == "blue whale, deep sea"
    driver.save_screenshot(str(ARTIFACTS / "gallery-lightbox-1280.png"))
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert state()[0] is False

    viewport(driver, 390, 844)
    driver.get(page.as_uri())
    # Phone width: two columns and nothing wider than the screen.
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    columns = driver.execute_script(
        "const g = document.getElementById('g');"
        "return getComputedStyle(g).gridTemplateColumns.split(' ').length"
    )
    assert columns == 2
    driver.save_screenshot(str(ARTIFACTS / "gallery-390.png"))

    # JavaScript off: the grid and its links are all there; the filter (useless now) is not.
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    driver.get(page.as_uri())
    assert not driver.find_element(By.ID, "bar").is_displayed()
    links = driver.find_elements(By.CSS_SELECTOR, "#g a")
    assert [a.get_attribute("href").rsplit("/", 1)[1] for a in links] == [
        "img-1.png",
        "img-2.png",
        "img-3.png",
        "img-5.png",
        "img-6.png",
    ]
    assert all(a.is_displayed() for a in links)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    print(f"screenshots in {ARTIFACTS}")
