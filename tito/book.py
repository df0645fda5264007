"""`tito book`: the course site (Jupyter Book 1, configured by _config.yml and
_toc.yml at the root).

A module page is the STUDENT EDITION of the module with the REFERENCE OUTPUTS:

    modules/source/NN_name/name_dev.ipynb
      --execute (reference solution, cwd = module folder)-->
      --nbgrader ClearSolutions + ClearHiddenTests (nbgrader_config.py)-->
      --fill the `#| bootstrap` cell-->
    book/modules/NN_name.ipynb   (committed)

so a reader sees exactly the stubs a learner gets, with the outputs the
finished code prints and plots. Executing is the slow part, so each page
records a hash of everything its content depends on (the module source, the
package code of the earlier modules it can import, the repository setting, the
stub settings) and is only executed again when that hash changes. `_toc.yml` is
generated from the module folders too.

    tito book pages [--check]   regenerate stale pages and _toc.yml
                                (--check: exit 1 if any is stale)
    tito book build [--check]   pages, then `jupyter-book build . -W -n
                                --keep-going` into _build/html
    tito book serve [--port N]  serve _build/html on http://127.0.0.1:N
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tito import book_explorer
from tito.book_explorer import EXPLORER_MIME
from tito.modules import ROOT, Module, all_modules, find_module

# module pages, as Sphinx names them (relative to the book root, ROOT)
PAGES_DOCDIR = "book/modules"
PAGES_DIR = ROOT / PAGES_DOCDIR
TOC_FILE = ROOT / "_toc.yml"
BUILD_DIR = ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
NBGRADER_CONFIG = ROOT / "nbgrader_config.py"

# Bump when the way a page is made changes (execution, stripping, metadata):
# every page becomes stale.
PAGE_FORMAT = 1
METADATA_KEY = "tinytorch_book"
CELL_TIMEOUT = 600  # seconds per cell when executing the reference notebook


# -----------------------------------------------------------------------------
# modules


def shown(path: Path) -> str:
    """A path as messages show it: relative to the repository when it is
    inside."""
    return (
        path.relative_to(ROOT).as_posix()
        if path.is_relative_to(ROOT)
        else str(path)
    )


def page_path(module: Module) -> Path:
    return PAGES_DIR / f"{module.slug}.ipynb"


def docname(module: Module) -> str:
    """The page's Sphinx document name (its path from the root, without
    suffix)."""
    return f"{PAGES_DOCDIR}/{module.slug}"


def module_for_docname(name: str) -> Module | None:
    prefix = PAGES_DOCDIR + "/"
    if not name.startswith(prefix):
        return None
    try:
        return find_module(name[len(prefix) :])
    except ValueError:
        return None


_HEADING = re.compile(r"^#\s+(.+)$", re.MULTILINE)
_CORE_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+tinytorch\.core\.(\w+)", re.MULTILINE
)
_DEFAULT_EXP = re.compile(
    r"^#\|\s*default_exp\s+core\.(\w+)\s*$", re.MULTILINE
)


@dataclass(frozen=True)
class ModuleInfo:
    module: Module
    title: str  # "Module 09: Optimizers"
    summary: str  # the first sentence under the title
    core_name: str | None  # the tinytorch.core file it exports to
    imports: tuple[str, ...]  # tinytorch.core files it imports


def module_info(module: Module) -> ModuleInfo:
    """What the module map needs, read from the module source itself."""
    import jupytext

    notebook = jupytext.read(module.source, fmt="py:percent")
    title, summary = f"Module {module.number:02d}: {module.name.title()}", ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and (
            match := _HEADING.search(cell.source)
        ):
            title = match.group(1).strip()
            paragraphs = [
                p.strip()
                for p in cell.source[match.end() :].split("\n\n")
                if p.strip()
            ]
            if paragraphs:
                summary = re.split(
                    r"(?<=[.!?])\s",
                    " ".join(paragraphs[0].split()),
                    maxsplit=1,
                )[0]
            break
    code = "\n".join(
        cell.source for cell in notebook.cells if cell.cell_type == "code"
    )
    exported = _DEFAULT_EXP.search(code)
    imports = tuple(dict.fromkeys(_CORE_IMPORT.findall(code)))
    return ModuleInfo(
        module,
        title,
        summary,
        exported.group(1) if exported else None,
        imports,
    )


def prerequisites(info: ModuleInfo, infos: list[ModuleInfo]) -> list[Module]:
    """The earlier modules whose package code this module imports."""
    by_core = {i.core_name: i.module for i in infos if i.core_name}
    return [
        by_core[name]
        for name in info.imports
        if name in by_core and by_core[name].number < info.module.number
    ]


# -----------------------------------------------------------------------------
# what a page holds


def nbgrader_config():
    """The course's nbgrader configuration, so the page uses the stubs that the
    release uses."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    if not NBGRADER_CONFIG.is_file():
        return Config()
    return PyFileConfigLoader(
        NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)
    ).load_config()


def student_preprocessors(config):
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    return [ClearSolutions(config=config), ClearHiddenTests(config=config)]


def _stub_settings(config) -> str:
    """The settings that decide how a stripped cell reads (part of every page's
    hash)."""
    return json.dumps(
        [
            {
                name: getattr(p, name)
                for name in sorted(p.trait_names())
                if name != "config"
                and isinstance(getattr(p, name), (str, bool, dict))
            }
            for p in student_preprocessors(config)
        ],
        sort_keys=True,
        default=str,
    )


def source_hash(module: Module, modules: list[Module], config) -> str:
    """Hash of everything the page's content depends on: when it changes, the
    page is executed again."""
    from tito import export
    from tito.bootstrap import TEMPLATE as BOOTSTRAP_TEMPLATE
    from tito.bootstrap import repository

    digest = hashlib.sha256(f"page-format {PAGE_FORMAT}\n".encode())
    source = module.source.read_bytes()
    digest.update(source)
    if EXPLORER_MIME.encode() in source:  # the page embeds the explorer
        for part in (book_explorer.__file__, book_explorer.SCRIPT):
            digest.update(Path(part).read_bytes())
    for (
        earlier
    ) in modules:  # modules only import earlier modules' package code
        if earlier.number < module.number:
            target = export.DEFAULT_EXP.search(
                earlier.source.read_text(encoding="utf-8")
            )
            package_file = (
                export.PACKAGE_DIR.joinpath(
                    *target.group(1).split(".")
                ).with_suffix(".py")
                if target
                else None
            )
            digest.update(
                package_file.read_bytes()
                if package_file and package_file.is_file()
                else b""
            )
    digest.update(repr(repository()).encode())
    digest.update(BOOTSTRAP_TEMPLATE.encode())  # the page's first code cell
    digest.update(_stub_settings(config).encode())
    return digest.hexdigest()


def cells_hash(notebook) -> str:
    """Hash of the page's cells: a page edited by hand no longer matches the
    one it recorded."""
    return hashlib.sha256(
        json.dumps(notebook["cells"], sort_keys=True).encode()
    ).hexdigest()


def page_status(module: Module, modules: list[Module], config) -> str | None:
    """None when the committed page is up to date, else why it is not."""
    import nbformat

    path = page_path(module)
    if not path.is_file():
        return "missing"
    page = nbformat.read(path, as_version=4)
    recorded = page.metadata.get(METADATA_KEY, {})
    if recorded.get("source_sha256") != source_hash(module, modules, config):
        changed = f"{shown(module.source)} or what it imports"
        return f"stale (its source changed: {changed})"
    if recorded.get("cells_sha256") != cells_hash(page):
        return "edited by hand (regenerate it; edit the module source instead)"
    return None


# -----------------------------------------------------------------------------
# making a page


def kernel_env() -> dict[str, str]:
    """The learner's environment (module folders importable), with figures
    inline: MPLBACKEND unset."""
    from tito.commands.test import module_env

    env = module_env()
    env.pop("MPLBACKEND", None)
    return env


def make_page(slug: str) -> tuple[str, float]:
    """Execute a module's reference notebook, strip it to the student edition,
    write the page."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from tito.book_explorer import render_explorer_outputs
    from tito.bootstrap import fill_bootstrap
    from tito.export import ExportError, paired_notebook, read_source

    started = time.perf_counter()
    module, modules, config = (
        find_module(slug),
        all_modules(),
        nbgrader_config(),
    )
    if paired_notebook(module, read_source(module)).stale:
        raise ExportError(
            f"{shown(module.notebook)} is older than its source: "
            f"run `tito export --module {module.name}` first"
        )
    notebook = nbformat.read(module.notebook, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        store_widget_state=True,
        resources={"metadata": {"path": str(module.folder)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )  # no start-up chatter
    try:
        client.execute(env=kernel_env())
    except CellExecutionError as error:
        raise ExportError(
            f"{shown(module.notebook)} fails with the reference solution, so "
            "its "
            f"book page cannot show real outputs:\n{error}"
        ) from None

    render_explorer_outputs(notebook)  # module 09's explorer: data -> HTML
    resources = {}
    for preprocessor in student_preprocessors(config):
        notebook, resources = preprocessor.preprocess(notebook, resources)
    fill_bootstrap(notebook)
    notebook.metadata.pop(
        "jupytext", None
    )  # the page is not paired with anything
    notebook.metadata.pop("tito", None)  # nor made by `tito export`
    notebook.metadata[METADATA_KEY] = {
        "source": shown(module.source),
        "source_sha256": source_hash(module, modules, config),
        "cells_sha256": cells_hash(notebook),
        "generated_by": "tito book pages",
    }
    path = page_path(module)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return slug, time.perf_counter() - started


def toc_text(modules: list[Module]) -> str:
    chapters = "\n".join(f"      - file: {docname(m)}" for m in modules)
    return (
        "# Generated by `tito book pages` from the module folders: do not "
        "edit (the layout lives in "
        "tito/book.py).\n"
        "format: jb-book\n"
        "root: book/intro\n"
        "parts:\n"
        "  - caption: Start here\n"
        "    chapters:\n"
        "      - file: book/getting-started\n"
        "  - caption: Modules\n"
        "    chapters:\n"
        f"{chapters}\n"
        "  - caption: Teaching\n"
        "    chapters:\n"
        "      - file: book/instructor-guide\n"
    )


def orphan_pages(modules: list[Module]) -> list[Path]:
    """Pages of modules that no longer exist."""
    wanted = {page_path(m) for m in modules}
    return (
        sorted(p for p in PAGES_DIR.glob("*.ipynb") if p not in wanted)
        if PAGES_DIR.is_dir()
        else []
    )


def sync_pages(
    check: bool = False, force: list[Module] = (), workers: int = 2
) -> int:
    """Bring book/modules/ and _toc.yml up to date (or, with check, only
    report). Returns an exit code."""
    modules, config = all_modules(), nbgrader_config()
    stale = {m.slug: page_status(m, modules, config) for m in modules}
    stale = {slug: why for slug, why in stale.items() if why}
    stale.update({m.slug: "rebuild requested" for m in force})
    orphans = orphan_pages(modules)
    toc_stale = not TOC_FILE.is_file() or TOC_FILE.read_text(
        encoding="utf-8"
    ) != toc_text(modules)

    if check:
        for slug, why in stale.items():
            print(f"stale: {shown(page_path(find_module(slug)))}: {why}")
        for path in orphans:
            print(f"stale: {shown(path)}: its module no longer exists")
        if toc_stale:
            print(f"stale: {shown(TOC_FILE)}")
        out_of_sync = bool(stale or orphans or toc_stale)
        print(
            "run `tito book pages` and commit the result"
            if out_of_sync
            else f"book pages are in sync ({len(modules)} modules)"
        )
        return 1 if out_of_sync else 0

    if toc_stale:
        TOC_FILE.write_text(toc_text(modules), encoding="utf-8")
        print(f"wrote {shown(TOC_FILE)}")
    for path in orphans:
        path.unlink()
        print(f"removed {shown(path)} (its module no longer exists)")
    if not stale:
        print(
            f"book pages are up to date ({len(modules)} modules; nothing "
            "executed)"
        )
        return 0
    print(
        f"executing {len(stale)} module notebook(s) with the reference "
        f"solution: {', '.join(stale)}",
        flush=True,
    )
    failures = []
    with ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(stale)))
    ) as pool:
        # each notebook runs in its own kernel: two at a time keeps both cores
        # busy
        futures = {pool.submit(make_page, slug): slug for slug in stale}
        for future in as_completed(futures):
            try:
                slug, seconds = future.result()
            except (
                Exception
            ) as error:  # report every module that fails, not only the first
                failures.append(futures[future])
                print(
                    f"❌ {futures[future]}: {error}",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(
                    f"wrote {shown(page_path(find_module(slug)))} "
                    f"({seconds:.1f} s)",
                    flush=True,
                )
    if failures:
        print(
            f"tito book: {len(failures)} page(s) not written: "
            f"{', '.join(sorted(failures))}",
            file=sys.stderr,
        )
        return 1
    return 0


# -----------------------------------------------------------------------------
# the HTML site


def build_html() -> int:
    """jupyter-book build: every warning is an error (-W -n), reported all at
    once (--keep-going).

    Always from a fresh environment (--all): Sphinx does not repeat the
    warnings of pages it does not read again, nor copy changed static files
    when no page changed; with a dozen pages the fresh build costs about as
    much as an incremental one."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
        "build",
        str(ROOT),
        "--all",
        "-W",
        "-n",
        "--keep-going",
    ]  # into ROOT/_build/html
    print("$ jupyter-book " + " ".join(command[1:]), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def serve(port: int) -> int:
    if not (HTML_DIR / "index.html").is_file():
        print(
            f"tito book serve: {shown(HTML_DIR)} has no site yet: run `tito "
            "book build` first",
            file=sys.stderr,
        )
        return 1
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(HTML_DIR)
    )
    with http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), handler
    ) as server:
        print(
            f"serving the course site on http://127.0.0.1:{port}/ (Ctrl-C "
            "stops)",
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


# -----------------------------------------------------------------------------
# the CLI


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "book",
        help="build the course site (module pages, then Jupyter Book) and "
        "serve it",
        description="Module pages are the student notebooks with the "
        "reference outputs; they are executed "
        "again only when their module source (or what it imports) changed.",
    )
    commands = parser.add_subparsers(
        dest="book_command", metavar="ACTION", required=True
    )

    pages = commands.add_parser(
        "pages",
        help="regenerate stale module pages (book/modules/*.ipynb) and "
        "_toc.yml",
    )
    build = commands.add_parser(
        "build", help="`pages`, then jupyter-book build into _build/html"
    )
    for sub in (pages, build):
        sub.add_argument(
            "--check",
            action="store_true",
            help="write nothing; exit 1 when any module page is stale or "
            "missing (CI)",
        )
        sub.add_argument(
            "--module",
            "-m",
            action="append",
            default=[],
            help="execute this module's page again even if it is up to date "
            "(repeatable)",
        )
        sub.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="notebooks executed at the same time (default: %(default)s)",
        )
    build.add_argument(
        "--html-only",
        action="store_true",
        help="skip the module pages: build the site from the committed pages",
    )
    pages.set_defaults(func=_pages)
    build.set_defaults(func=_build)

    serve_parser = commands.add_parser(
        "serve", help="serve _build/html on 127.0.0.1"
    )
    serve_parser.add_argument(
        "--port", type=int, default=8000, help="port (default: %(default)s)"
    )
    serve_parser.set_defaults(func=lambda args: serve(args.port))


def _pages(args) -> int:
    if not args.check:
        from tito.learner import refuse_publishing

        refuse_publishing("book pages (book/modules)")
    return sync_pages(
        check=args.check,
        force=[find_module(name) for name in args.module],
        workers=args.workers,
    )


def _build(args) -> int:
    if args.check:
        return sync_pages(check=True)
    if not args.html_only:
        code = _pages(args)
        if code:
            return code
    return build_html()
