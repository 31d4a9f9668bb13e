"""`sgrn serve` as a person uses it: the real server on a free loopback port, driven in a
headless Chromium through Selenium, on the tiny demo with two runs.

The module installs Debian's `chromium` and `chromium-driver` when they are missing (root and
apt-get needed); where that cannot be done it is skipped, saying why, except in CI (CI=true),
where that is a failure. Selenium is given the driver and the browser by path, so Selenium
Manager never looks for anything to download.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import h5py
import pytest

from sgrn.__main__ import main
from workflow_utils import BIN, env

pytestmark = pytest.mark.slow  # needs the demo runs of the two_method_project fixture

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ["chromium", "chromium-driver"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1100"]


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser test must run in CI but cannot: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    """Paths of Debian's chromium and chromedriver, installed with apt-get when missing."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("apt-get") is None:
            _unavailable("needs Debian's chromium and chromium-driver, or root and apt-get to "
                         "install them")
        apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=apt)
            if proc.returncode != 0:
                _unavailable(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture(scope="module")
def browser(chromium):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium[0])
    profile = tempfile.mkdtemp(prefix="sgrn-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(chromium[1])), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Server:
    """`sgrn serve --port 0` started in the project; its printed address is read back."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen([str(BIN / "sgrn"), "serve", "--port", "0", "--threads", "2"],
                                     cwd=root, env=env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line)
                if "open http://" in line:
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(120):
            self.proc.kill()
            raise AssertionError(f"sgrn serve printed no address:\n{''.join(self.lines)}"
                                 f"{self.proc.stderr.read()}")
        self.url = re.search(r"(http://127\.0\.0\.1:\d+/)", "".join(self.lines)).group(1)

    def interrupt(self) -> tuple[int, str, str]:
        """Ctrl-C: SIGINT, then the exit status and what was printed."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        return code, "".join(self.lines), self.proc.stderr.read()


@pytest.fixture(scope="module")
def server(two_method_project):
    s = Server(two_method_project)
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait()


def cli(root: Path, run: str, capsys, *args: str) -> list[tuple[int, int]]:
    """The ranking of `sgrn search --json` for the same query: (id, distance) pairs."""
    capsys.readouterr()
    assert main(["search", "--run", str(root / "results" / run), "--json", *args]) == 0
    return [(r["id"], r["distance"]) for r in json.loads(capsys.readouterr().out)["results"]]


def choose(driver, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.NAME, name)).select_by_value(value)


def set_text(driver, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def submit(driver, button: str) -> None:
    """Press a button of the form and wait for the answer page."""
    from selenium.webdriver.common.by import By

    driver.execute_script("window.sgrnOldPage = true")  # gone once the next page is there
    driver.find_element(By.ID, button).click()
    loaded(driver)


def loaded(driver) -> None:
    """Wait until a new page and all its images have loaded."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # while the page changes, Chrome may answer a script with an error: ask again
    WebDriverWait(driver, 60, ignored_exceptions=(WebDriverException,)).until(lambda d: d.execute_script(
        "return !window.sgrnOldPage && document.readyState == 'complete'"
        " && [...document.images].every(i => i.complete)"))


def columns(driver) -> dict[str, list[tuple[int, int]]]:
    from selenium.webdriver.common.by import By

    out = {}
    for column in driver.find_elements(By.CSS_SELECTOR, "div.column"):
        out[column.get_attribute("data-run")] = [
            (int(li.get_attribute("data-id")), int(li.get_attribute("data-distance")))
            for li in column.find_elements(By.CSS_SELECTOR, "li.result")]
    return out


def pick_run(driver, method: str, compare: str = "") -> None:
    choose(driver, "dataset", "demo")
    choose(driver, "method", method)
    choose(driver, "bits", "16")
    choose(driver, "seed", "0")
    choose(driver, "method_b", compare)


def test_queries_in_a_real_browser(browser, server, two_method_project, tmp_path, capsys):
    from selenium.webdriver.common.by import By

    root = two_method_project
    browser.get(server.url)
    loaded(browser)
    assert "SGRN retrieval browser" in browser.title

    # (a) a tag query
    pick_run(browser, "sgrn")
    set_text(browser, "tags", "red, circle")
    set_text(browser, "k", "8")
    submit(browser, "search-tags")
    shown = columns(browser)
    run = "demo/sgrn/c0/b16/s0"
    assert shown == {run: cli(root, run, capsys, "--tags", "red, circle", "-k", "8")}
    thumbs = browser.find_elements(By.CSS_SELECTOR, "li.result img")
    assert thumbs and all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
                          for img in thumbs)   # the dataset's own images were served and decoded
    browser.save_screenshot(str(tmp_path / "tags.png"))

    # (b) an image upload
    with h5py.File(root / "resources/demo/pairs.h5") as p:
        image = root / "resources/raw/demo" / p["image_paths"][3].decode()
    browser.find_element(By.ID, "image").send_keys(str(image))
    submit(browser, "search-image")
    assert columns(browser) == {"demo/sgrn/c0/b16/s0": cli(root, "demo/sgrn/c0/b16/s0", capsys, "--image",
                                                        str(image), "-k", "8")}
    assert browser.find_element(By.CSS_SELECTOR, "#query img").get_attribute("src").startswith("data:image/")

    # (c) the same tag query against SGRN and DJSRH side by side
    pick_run(browser, "sgrn", compare="djsrh")
    choose(browser, "bits_b", "16")
    choose(browser, "seed_b", "0")
    set_text(browser, "tags", "green triangle")
    submit(browser, "search-tags")
    shown = columns(browser)
    assert list(shown) == ["demo/sgrn/c0/b16/s0", "demo/djsrh/c0/b16/s0"]
    for run, ranking in shown.items():
        assert ranking == cli(root, run, capsys, "--tags", "green triangle", "-k", "8")
    screenshot = tmp_path / "compare.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000

    # a random test query: labels shared with the query are marked, with the precision
    submit(browser, "search-random")
    assert len(browser.find_elements(By.CSS_SELECTOR, "p.precision")) == 2
    browser.save_screenshot(str(tmp_path / "random.png"))

    # bad input: a message in the page, and the server keeps serving
    set_text(browser, "tags", "qwerty")
    submit(browser, "search-tags")
    assert "none of qwerty is in the vocabulary" in browser.find_element(By.ID, "error").text
    browser.get(server.url + "results")
    loaded(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "table") and browser.find_elements(By.CSS_SELECTOR, ".plots img")
    browser.save_screenshot(str(tmp_path / "results.png"))


def test_ctrl_c_stops_the_server_cleanly(server, browser):
    code, out, err = server.interrupt()
    assert code == 0, err
    assert "sgrn serve: stopped" in out and "Traceback" not in err
