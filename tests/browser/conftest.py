"""Headless Chromium against the built site, served by `python -m http.server`
on 127.0.0.1.

Debian's /usr/bin/chromium (`apt-get install -y chromium`) driven by the
playwright Python API: never `playwright install`. Every request that does not
go to 127.0.0.1 is blocked and recorded, so a page that would fetch anything
from the internet at load fails its test.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from book_support import HTML_DIR, ROOT  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site; built from the committed pages when it is missing (one
    build even under xdist)."""
    HTML_DIR.parent.mkdir(exist_ok=True)
    with open(HTML_DIR.parent / ".browser-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (HTML_DIR / "index.html").is_file():
            result = subprocess.run(
                [sys.executable, "-m", "tito", "book", "build", "--html-only"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                pytest.fail(
                    "`tito book build --html-only` "
                    f"failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
                )
    return HTML_DIR


@pytest.fixture(scope="session")
def base_url(site_dir) -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(site_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"python -m http.server did not start on {url}")
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get "
            "install -y chromium` "
            "(never `playwright install`)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One page load and everything that went wrong during it."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return (
            [f"console error: {e}" for e in self.console_errors]
            + [f"failed request: {r}" for r in self.failed_requests]
            + [
                f"request outside 127.0.0.1 (blocked): {r}"
                for r in self.external_requests
            ]
        )


@pytest.fixture
def visit(browser, base_url):
    """visit("book/intro.html") -> Visit, after the page and everything it
    loads have settled (settle=False: as soon as the document is parsed, for
    checks of the HTML alone)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def guard(route):
        url = route.request.url
        if urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            visits[-1].external_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    visits: list[Visit] = []

    def load(path: str, settle: bool = True) -> Visit:
        page = context.new_page()
        record = Visit(page)
        visits.append(record)
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and record.console_errors.append(
                    f"{msg.text} ({msg.location.get('url', '')})"
                )
            ),
        )
        page.on(
            "pageerror",
            lambda error: record.console_errors.append(f"uncaught: {error}"),
        )
        page.on(
            "requestfailed",
            lambda request: (
                urlparse(request.url).hostname == "127.0.0.1"
                and record.failed_requests.append(
                    f"{request.url}: {request.failure}"
                )
            ),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and record.failed_requests.append(
                    f"{response.url}: HTTP {response.status}"
                )
            ),
        )
        page.goto(
            f"{base_url}/{path}",
            wait_until="load" if settle else "domcontentloaded",
        )
        if settle:
            page.wait_for_load_state("networkidle")
        return record

    yield load
    context.close()
