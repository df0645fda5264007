"""Nothing leaks: no solution line and no hidden-test line of any module reaches what students see.

The secrets come from the module sources (modules/source/NN_name/name_dev.py): every line between
`### BEGIN SOLUTION` and `### END SOLUTION`, and between `### BEGIN HIDDEN TESTS` and `### END HIDDEN
TESTS`, stripped. Trivial lines (`return`, `pass`, `)`) are no secret, and neither is a line that the course
shows on purpose somewhere outside those regions (a formula in the prose, a line of a demonstration).

The targets are what students get: release notebooks (modules/release/), book pages (book/modules/),
any other notebook outside the module sources (what a launch button may open), and feedback pages.
A finding names the file, the cell, the line, and the module and cell the secret comes from.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKERS = {
    "### BEGIN SOLUTION": "solution",
    "### END SOLUTION": "solution",
    "### BEGIN HIDDEN TESTS": "hidden test",
    "### END HIDDEN TESTS": "hidden test",
}
_TRIVIAL = {
    "return",
    "pass",
    "break",
    "continue",
    "else:",
    "try:",
    "finally:",
    "except:",
    "raise",
    "yield",
    "return None",
    "return self",
    "return True",
    "return False",
    "return result",
    "return out",
    '"""',
    "'''",
    "else",
    "None",
    "True",
    "False",
    "self",
    "# YOUR CODE HERE",
    "raise NotImplementedError()",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAG = re.compile(r"<[^>]+>")
_TRACEBACK_PREFIX = re.compile(
    r"^\s*(?:-*>\s*)?\d+\s"
)  # IPython's "----> 12 " and "     13 " context lines


def is_trivial(line: str) -> bool:
    return (
        len(line) < 4
        or line in _TRIVIAL
        or not re.search(r"[A-Za-z0-9]", line)
    )


@dataclass(frozen=True)
class Secret:
    kind: str  # "solution" or "hidden test"
    module: str  # 09_optimizers
    grade_id: str  # the cell it comes from (sgd-step)
    line: str  # stripped text


@dataclass(frozen=True)
class Leak:
    path: Path
    cell: int | None  # cell index in a notebook (None for other files)
    cell_id: str | None
    where: str  # "source" or "output"
    line: int  # 1-based line in the cell (or file)
    text: str
    secret: Secret | None  # None for a marker

    def __str__(self) -> str:
        place = "file"
        if self.cell is not None:
            place = f"cell {self.cell}" + (
                f" ({self.cell_id})" if self.cell_id else ""
            )
        if self.where == "output":
            place += " output"
        what = (
            f"{self.secret.kind} line of {self.secret.module} (cell {self.secret.grade_id})"
            if self.secret
            else "a solution/hidden-test marker"
        )
        return f"{self.path}: {place}, line {self.line}: {what}: {self.text.strip()!r}"


# --- secrets ----------------------------------------------------------------------------------------------


def _cells(source_py: Path):
    import jupytext

    return jupytext.read(source_py, fmt="py:percent").cells


def regions(source: str):
    """Yield (kind or None, stripped line) for every line of a cell: kind is the marked region it is in."""
    kind = None
    for raw in source.splitlines():
        line = raw.strip()
        marker = next(
            (k for m, k in MARKERS.items() if line.startswith(m)), None
        )
        if marker:
            kind = marker if "BEGIN" in line else None
            continue
        yield kind, line


def module_secrets(
    source_py: Path, slug: str
) -> tuple[list[Secret], set[str]]:
    """(secret lines, public lines) of one module source."""
    secrets, public = [], set()
    for cell in _cells(source_py):
        grade_id = cell.metadata.get("nbgrader", {}).get(
            "grade_id", f"{cell.cell_type} cell"
        )
        for kind, line in regions(cell.source):
            if kind is None:
                public.add(line)
            elif not is_trivial(line):
                secrets.append(Secret(kind, slug, grade_id, line))
    return secrets, public


def course_secrets(source_dir: Path) -> dict[str, Secret]:
    """Every secret line of every module, minus the lines any module shows in the open."""
    all_secrets, public = [], set()
    for source_py in sorted(source_dir.glob("[0-9][0-9]_*/*_dev.py")):
        secrets, shown = module_secrets(source_py, source_py.parent.name)
        all_secrets += secrets
        public |= shown
    return {s.line: s for s in all_secrets if s.line not in public}


# --- scanning ----------------------------------------------------------------------------------------------


def _output_text(output) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    elif output.get("output_type") == "error":
        text = (
            "\n".join(output.get("traceback", []))
            + "\n"
            + output.get("evalue", "")
        )
    else:
        data = output.get("data", {})
        text = "\n".join(
            _joined(data.get(kind, ""))
            for kind in ("text/plain", "text/markdown", "text/latex")
        )
        if "text/html" in data:
            text += "\n" + html_text(_joined(data["text/html"]))
    return _ANSI.sub("", _joined(text))


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def html_text(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def _scan_lines(
    text: str,
    secrets: dict[str, Secret],
    kinds: set[str],
    markers: bool,
    output: bool = False,
):
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if markers and any(m in line for m in MARKERS):
            yield number, raw, None
            continue
        secret = secrets.get(line)
        if secret is None and output:
            secret = secrets.get(
                _TRACEBACK_PREFIX.sub("", raw, count=1).strip()
            )
        if secret and secret.kind in kinds:
            yield number, raw, secret


def scan_notebook(
    path: Path,
    secrets: dict[str, Secret],
    kinds=("solution", "hidden test"),
    markers: bool = True,
) -> list[Leak]:
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    leaks = []
    for index, cell in enumerate(notebook.get("cells", [])):
        cell_id = cell.get("id") or cell.get("metadata", {}).get(
            "nbgrader", {}
        ).get("grade_id")
        for number, text, secret in _scan_lines(
            _joined(cell.get("source", "")), secrets, set(kinds), markers
        ):
            leaks.append(
                Leak(
                    Path(path), index, cell_id, "source", number, text, secret
                )
            )
        outputs = "\n".join(_output_text(o) for o in cell.get("outputs", []))
        for number, text, secret in _scan_lines(
            outputs, secrets, set(kinds), markers, output=True
        ):
            leaks.append(
                Leak(
                    Path(path), index, cell_id, "output", number, text, secret
                )
            )
    return leaks


def scan_text_file(
    path: Path,
    secrets: dict[str, Secret],
    kinds=("solution", "hidden test"),
    markers: bool = False,
) -> list[Leak]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if Path(path).suffix in (".html", ".htm"):
        text = html_text(text)
    return [
        Leak(Path(path), None, None, "source", number, line, secret)
        for number, line, secret in _scan_lines(
            text, secrets, set(kinds), markers
        )
    ]


def scan(
    paths, secrets: dict[str, Secret], kinds=("solution", "hidden test")
) -> list[Leak]:
    leaks = []
    for path in paths:
        path = Path(path)
        if path.suffix == ".ipynb":
            leaks += scan_notebook(path, secrets, kinds)
        else:
            leaks += scan_text_file(path, secrets, kinds)
    return leaks


def default_targets(
    repo: Path, source_dir: Path, extra: list[Path] = ()
) -> list[Path]:
    """Release notebooks, book pages and every other notebook students can reach (not the sources, not
    the grading folders, not build or environment folders)."""
    repo = Path(repo)
    skip = (
        "modules/source/",
        "modules/submitted/",
        "modules/autograded/",
        "modules/feedback/",
        ".venv/",
        "node_modules/",
        "_build/",
        ".ipynb_checkpoints/",
        "tests/",
    )
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        files = [repo / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in repo.rglob("*") if p.is_file()]
    targets = set()
    source_dir = Path(source_dir).resolve()
    for path in files:
        rel = path.relative_to(repo).as_posix()
        if (
            any(part in f"/{rel}" for part in (f"/{s}" for s in skip))
            or not path.is_file()
        ):
            continue
        if source_dir in path.resolve().parents:
            continue
        if path.suffix == ".ipynb" or (
            rel.startswith("book/modules/")
            and path.suffix in (".md", ".py", ".html")
        ):
            targets.add(path)
    # the release folder even when git does not know it yet
    for path in (repo / "modules" / "release").glob("*/*.ipynb"):
        targets.add(path)
    return sorted(targets | {Path(p) for p in extra})


def check(
    repo: Path, source_dir: Path, targets=None
) -> tuple[list[Path], list[Leak]]:
    """(scanned files, leaks) over the default targets (or the given ones)."""
    secrets = course_secrets(source_dir)
    targets = (
        default_targets(repo, source_dir)
        if targets is None
        else [Path(t) for t in targets]
    )
    return targets, scan(targets, secrets)
