"""The course site as a reader's browser sees it: headless Chromium, nothing
fetched from outside 127.0.0.1."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlparse

import pytest
from book_support import (
    HTML_DIR,
    PAGES_DIR,
    git_tracked,
    hidden_lines,
    module_slugs,
    page_notebook,
    repository,
    source_of,
    toc_docnames,
)

pytestmark = pytest.mark.browser

SCREENSHOT = os.environ.get("BOOK_SCREENSHOT", "/tmp/book-screenshot.png")
SITE_PAGES = ["index.html", "search.html", "genindex.html"] + [
    f"{name}.html" for name in toc_docnames()
]
MODULES = module_slugs()


def module_page(slug: str) -> str:
    return f"book/modules/{slug}.html"


@pytest.mark.parametrize("path", SITE_PAGES)
def test_page_loads_without_errors_and_its_images_render(visit, path):
    loaded = visit(path)
    page = loaded.page
    # scroll through the page so anything loaded lazily is loaded (and checked)
    # too
    page.evaluate(
        "async () => { for (let y = 0; y < document.body.scrollHeight; y += "
        "600) {"
        " window.scrollTo(0, y); await new Promise(r => setTimeout(r, 20)); } "
        "}"
    )
    page.wait_for_load_state("networkidle")
    images = page.eval_on_selector_all(
        "img",
        "imgs => imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete "
        "&& i.naturalWidth > 0}))",
    )
    broken = [image["src"] for image in images if not image["ok"]]
    assert not loaded.problems, "\n".join(loaded.problems)
    assert not broken, f"images that did not render: {broken}"
    assert page.locator("main h1, article h1").count() >= 1 or path in (
        "index.html",
        "search.html",
        "genindex.html",
    )


@pytest.mark.parametrize("slug", MODULES)
def test_module_page_launches_the_committed_student_notebook(visit, slug):
    url, branch = repository()
    org_repo = urlparse(url).path.strip("/")
    page = visit(module_page(slug), settle=False).page
    header = ".article-header-buttons .dropdown-launch-buttons"
    binder = page.eval_on_selector_all(
        f'{header} a[href^="https://mybinder.org/"]',
        "as => as.map(a => a.href)",
    )
    colab = page.eval_on_selector_all(
        f'{header} a[href^="https://colab.research.google.com/"]',
        "as => as.map(a => a.href)",
    )
    assert len(binder) == 1 and len(colab) == 1, (
        f"expected one Binder and one Colab button, got {binder} {colab}"
    )
    # the download button offers this page as a notebook
    downloads = page.eval_on_selector_all(
        'a[href*="/_sources/"][href$=".ipynb"]', "as => as.map(a => a.href)"
    )
    assert downloads and page.request.get(downloads[0]).ok, downloads
    # the "Work on this module" section at the end of the page links to the
    # same two places
    body_links = page.eval_on_selector_all(
        "#work-on-this-module a", "as => as.map(a => a.href)"
    )
    assert binder[0] in body_links and colab[0] in body_links, body_links

    binder_url = urlparse(binder[0])
    assert binder_url.path == f"/v2/gh/{org_repo}/{branch}"
    binder_path = parse_qs(binder_url.query)["urlpath"][0].removeprefix(
        "tree/"
    )
    colab_prefix = (
        f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/"
    )
    assert colab[0].startswith(colab_prefix)
    colab_path = colab[0][len(colab_prefix) :]

    name = slug.split("_", 1)[1]
    expected = f"modules/release/{slug}/{name}_dev.ipynb"
    assert binder_path == colab_path == expected
    assert git_tracked(expected), (
        f"{expected} is not committed: the launch buttons of {slug} open it "
        "on "
        f"{url} ({branch}); run `tito sync` and commit modules/release/"
    )


@pytest.mark.parametrize("slug", MODULES)
def test_module_page_shows_no_solution_or_hidden_test(visit, slug):
    leaked_candidates = hidden_lines(
        source_of(slug).read_text(encoding="utf-8")
    )
    page = visit(module_page(slug), settle=False).page
    code = "\n".join(
        page.eval_on_selector_all(
            ".cell_input pre", "pres => pres.map(p => p.innerText)"
        )
    )
    shown = {line.strip() for line in code.splitlines()}
    assert code, "the module page shows no code cells"
    assert "NotImplementedError" in code or not leaked_candidates, (
        "exercise stubs are missing"
    )
    leaked = sorted(leaked_candidates & shown)
    assert not leaked, (
        f"solution / hidden-test lines shown on the page: {leaked}"
    )
    assert "### BEGIN" not in code


def widget_pages() -> list[str]:
    return [
        slug
        for slug in MODULES
        if (PAGES_DIR / f"{slug}.ipynb").is_file()
        and page_notebook(slug).get("metadata", {}).get("widgets")
    ]


def test_saved_ipywidgets_render_without_a_kernel(visit):
    pages = widget_pages()
    if not pages:
        pytest.skip(
            "no module page has an ipywidgets output yet (the widget demo "
            "cell of module 01 is missing)"
        )
    loaded = visit(module_page(pages[0]))
    widgets = loaded.page.locator(".cell_output .jupyter-widgets")
    widgets.first.wait_for(state="visible", timeout=20_000)
    assert widgets.count() >= 1
    assert (
        loaded.page.locator(
            ".cell_output .widget-slider, .cell_output .widget-hslider"
        ).count()
        >= 1
    )
    assert not loaded.problems, "\n".join(loaded.problems)


def explorer_pages() -> list[str]:
    return [
        path.relative_to(HTML_DIR).as_posix()
        for path in sorted(HTML_DIR.rglob("*.html"))
        if "_sources" not in path.parts
        and 'id="optimizer-explorer"' in path.read_text(encoding="utf-8")
    ]


def test_optimizer_explorer_responds_to_a_slider_without_a_kernel(
    visit, site_dir
):
    pages = explorer_pages()
    if not pages:
        pytest.skip(
            'no page has the no-kernel explorer (id="optimizer-explorer") '
            "yet: module 09 adds it"
        )
    loaded = visit(pages[0])
    explorer = loaded.page.locator("#optimizer-explorer")
    explorer.scroll_into_view_if_needed()
    loaded.page.wait_for_function(
        "() => document.querySelector('#optimizer-explorer').dataset.state",
        timeout=10_000,
    )
    before = explorer.get_attribute("data-state")
    slider = explorer.locator('input[type="range"][data-param]').first
    slider.focus()
    for _ in range(3):  # as a reader would: arrow keys on the focused slider
        slider.press("ArrowRight")
    loaded.page.wait_for_function(
        "before => "
        "document.querySelector('#optimizer-explorer').dataset.state !== "
        "before",
        arg=before,
        timeout=10_000,
    )
    assert explorer.get_attribute("data-state") != before
    assert not loaded.problems, "\n".join(loaded.problems)


def test_search_finds_adam(visit):
    loaded = visit("search.html?q=Adam")
    results = loaded.page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=20_000)
    hrefs = loaded.page.eval_on_selector_all(
        "#search-results ul.search li a", "as => as.map(a => a.href)"
    )
    assert hrefs, "searching for Adam found nothing"
    if "09_optimizers" in MODULES:
        assert any("09_optimizers" in href for href in hrefs), hrefs
    assert not loaded.problems, "\n".join(loaded.problems)


def test_flagship_page_screenshot(visit):
    """The optimizers page (or the last module page there is) rendered as a
    reader sees it."""
    slug = "09_optimizers" if "09_optimizers" in MODULES else MODULES[-1]
    loaded = visit(module_page(slug))
    page = loaded.page
    title = page.locator("main h1").first.inner_text()
    assert re.search(r"\w", title)
    page.screenshot(path=SCREENSHOT, full_page=False)
    assert os.path.getsize(SCREENSHOT) > 10_000
    # the page shows the course navigation, its maths typeset and at least one
    # figure
    assert page.locator("nav.bd-links a").count() >= len(MODULES)
    assert page.locator("mjx-container").count() >= 1
    assert page.locator(".cell_output img").count() >= 1
