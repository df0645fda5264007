"""Nothing leaks: no solution line and no hidden-test line of any module
reaches what students see.

The secrets come from the module sources (modules/source/NN_name/name_dev.py):
every line between `### BEGIN SOLUTION` and `### END SOLUTION`, and between
`### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS`, stripped. Trivial lines
(`return`, `pass`, `)`) are no secret, and neither is a line that the course
shows on purpose somewhere outside those regions (a formula in the prose, a
line of a demonstration).

The targets are what students get: release notebooks (modules/release/), every
book page (book/, the narrative pages too) and README, every page of the built
site (`--html _build/html`), any other notebook outside the module sources
(what a launch button may open), and feedback pages.

A secret is found as a whole line, inside a longer line (quoted in prose,
pasted after other code) when it is at least SUBSTRING_MIN characters long, and
encoded: its base64 and hex forms are looked for, and every base64 or hex run
of a target is decoded and searched in turn (print(base64.b64encode(...)) in a
submission does not get a hidden test past the check). A finding names the
file, the cell, the line, the encoding, and the module and cell the secret
comes from.
"""

from __future__ import annotations

import base64
import bisect
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


# a bare name or attribute, as in a call spread over lines: `shape,` says
# nothing of the solution; nor does the opening of a call or a collection
# (`expect_equal(`, `mistakes={`, `out = [`) that a formatter put on its own
# line
_BARE_NAME = re.compile(r"[\w.]+[,)\]]*")
_OPENING = re.compile(r"(?:[\w.]+\s*=\s*)?[\w.]*\s*[(\[{]")
# one keyword argument of such a call: `learning_rate=0.1,`
_KEYWORD = re.compile(r"\w+=[\w.+\-'\"]+,?")


def is_trivial(line: str) -> bool:
    return (
        len(line) < 4
        or line in _TRIVIAL
        or not re.search(r"[A-Za-z0-9]", line)
        or _BARE_NAME.fullmatch(line) is not None
        or _OPENING.fullmatch(line) is not None
        or _KEYWORD.fullmatch(line) is not None
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
    encoding: str | None = None  # how the secret was hidden: "base64", "hex"

    def __str__(self) -> str:
        place = "file"
        if self.cell is not None:
            place = f"cell {self.cell}" + (
                f" ({self.cell_id})" if self.cell_id else ""
            )
        if self.where == "output":
            place += " output"
        what = (
            f"{self.secret.kind} line of {self.secret.module} (cell "
            f"{self.secret.grade_id})"
            if self.secret
            else "a solution/hidden-test marker"
        )
        if self.encoding:
            what += f", {self.encoding}-encoded"
        shown = self.text.strip()
        if self.secret and len(shown) > 120:  # a long line of a page
            shown = f"...{self.secret.line}..."
        return f"{self.path}: {place}, line {self.line}: {what}: {shown!r}"


# --- secrets -----------------------------------------------------------------


def _cells(source_py: Path):
    import jupytext

    return jupytext.read(source_py, fmt="py:percent").cells


def regions(source: str):
    """Yield (kind or None, stripped line) for every line of a cell: kind is
    the marked region it is in."""
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
    """Every secret line of every module, minus the lines any module shows in
    the open."""
    all_secrets, public = [], set()
    for source_py in sorted(source_dir.glob("[0-9][0-9]_*/*_dev.py")):
        secrets, shown = module_secrets(source_py, source_py.parent.name)
        all_secrets += secrets
        public |= {normalized(line) for line in shown}
    # prose renders `code` without its backticks: `a`, `b` shows as a, b
    shown = "\n".join(sorted(public))
    shown += "\n" + shown.replace("`", "")
    return {s.line: s for s in all_secrets if not is_public(s, public, shown)}


# --- finding secrets in a text -----------------------------------------------

# A secret this long or longer is looked for inside lines (quoted in prose,
# pasted after other code) and encoded (base64, hex); a shorter one (`b = g`)
# only as a whole line, where it cannot be a coincidence.
SUBSTRING_MIN = 12


def found_inside(line: str) -> bool:
    """Is a (normalized) secret line looked for inside other lines and encoded?
    Long enough, and with some code in it: words alone (`return total`) are
    prose as often as code."""
    return (
        len(line) >= SUBSTRING_MIN and re.search(r"[^\w\s]", line) is not None
    )


def normalized(line: str) -> str:
    """One space between words: a quoted line keeps its text, not always its
    alignment."""
    return " ".join(line.split())


def is_public(secret: Secret, public_lines: set[str], shown: str) -> bool:
    """A line the course shows in the open: as a whole line, or (a long one)
    inside a shown line."""
    line = normalized(secret.line)
    return line in public_lines or (found_inside(line) and line in shown)


@dataclass(frozen=True)
class _Hit:
    line: int  # 1-based line of the scanned text
    text: str
    secret: Secret | None  # None for a marker
    encoding: str | None = None  # "base64", "hex", "hex in base64", ...


def encoded_forms(line: str):
    """(encoding, text) of `line` as it reads inside a longer encoded text.

    Hex is byte-aligned. A base64 character holds 6 bits, so the encoding of a
    line depends on its offset modulo 3 in what was encoded: one form per
    offset, without the characters at either end that mix the line's bits with
    its neighbours'."""
    data = line.encode()
    yield "hex", data.hex()
    for offset in range(3):
        text = base64.b64encode(b"\0" * offset + data).decode()
        end = len(text) - (4 if (offset + len(data)) % 3 else 0)
        form = text[(0, 2, 3)[offset] : end]
        yield "base64", form
        yield "base64", form.translate(_URLSAFE)


_URLSAFE = str.maketrans("+/", "-_")
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_BLOB = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")


class _Needles:
    """Many strings looked for at once, reading a text once whatever their
    number (one str.find per secret and encoding took minutes on the built
    site).

    Every KEY-character piece of every needle is indexed with its offset. A
    needle of at least `shortest` characters covers shortest - KEY + 1
    consecutive piece starts, so looking at every `step`-th position of the
    text is enough to meet each occurrence once at least."""

    KEY = 8

    def __init__(self, pairs):
        pairs = list(pairs)
        shortest = min((len(needle) for needle, _ in pairs), default=0)
        assert not pairs or shortest >= self.KEY, "a needle is too short"
        self.step = max(1, shortest - self.KEY + 1)
        self.index: dict[str, list] = {}
        for needle, payload in pairs:
            for offset in range(len(needle) - self.KEY + 1):
                piece = needle[offset : offset + self.KEY]
                self.index.setdefault(piece, []).append(
                    (offset, needle, payload)
                )

    def find_all(self, text: str):
        """(position, payload) of every needle found in `text`."""
        index, key, found = self.index, self.KEY, set()
        for position in range(0, len(text) - key + 1, self.step):
            for offset, needle, payload in index.get(
                text[position : position + key], ()
            ):
                start = position - offset
                if (
                    start >= 0
                    and (start, needle) not in found
                    and text.startswith(needle, start)
                ):
                    found.add((start, needle))
                    yield start, payload


class Finder:
    """The secrets of the wanted kinds, prepared once for every text."""

    def __init__(self, secrets: dict[str, Secret], kinds):
        chosen = [s for s in secrets.values() if s.kind in set(kinds)]
        self.whole = {normalized(s.line): s for s in chosen}
        inside = [s for s in chosen if found_inside(normalized(s.line))]
        self.inside = _Needles((normalized(s.line), s) for s in inside)
        forms = [
            (encoding, form, s)
            for s in inside
            for encoding, form in encoded_forms(s.line)
        ]
        self.hex = _Needles(
            (form, (e, s)) for e, form, s in forms if e == "hex"
        )
        self.base64 = _Needles(
            (form, (e, s)) for e, form, s in forms if e != "hex"
        )

    def plain(self, text: str, markers: bool, output: bool = False):
        """Markers, secret lines, and long secrets inside lines."""
        lines = text.splitlines()
        hits: dict[int, _Hit] = {}
        for number, raw in enumerate(lines, start=1):
            if markers and any(m in raw for m in MARKERS):
                hits[number] = _Hit(number, raw, None)
                continue
            secret = self.whole.get(normalized(raw))
            if secret is None and output:
                secret = self.whole.get(
                    normalized(_TRACEBACK_PREFIX.sub("", raw, count=1))
                )
            if secret:
                hits[number] = _Hit(number, raw, secret)
        flat = [normalized(line) for line in lines]
        starts = _line_starts(flat)
        longest: dict[int, Secret] = {}  # a line is reported once
        for position, secret in self.inside.find_all("\n".join(flat)):
            number = bisect.bisect_right(starts, position)
            if len(secret.line) > len(
                getattr(longest.get(number), "line", "")
            ):
                longest[number] = secret
        for number, secret in longest.items():
            hits.setdefault(number, _Hit(number, lines[number - 1], secret))
        return hits

    def encoded(self, text: str, depth: int = 2):
        """Secrets encoded in base64 or hex, and secrets in the decoded blobs
        (nested `depth` deep)."""
        lines = text.splitlines()
        hits: dict[int, _Hit] = {}
        # whitespace removed: an encoding wrapped over several lines (base64 at
        # 76 columns) reads whole
        compact = ["".join(line.split()) for line in lines]
        starts = _line_starts(compact, separator=0)
        found = [
            *self.hex.find_all("".join(compact).lower()),
            *self.base64.find_all("".join(compact)),
        ]
        for position, (encoding, secret) in found:
            number = bisect.bisect_right(starts, position)
            hits.setdefault(
                number, _Hit(number, lines[number - 1], secret, encoding)
            )
        for number, encoding, decoded in (
            _decoded_blobs(lines) if depth else ()
        ):
            inner = {
                **self.encoded(decoded, depth - 1),
                **self.plain(decoded, markers=False),
            }
            for hit in inner.values():
                if hit.secret is not None:
                    how = encoding
                    if hit.encoding:
                        how = f"{hit.encoding} in {encoding}"
                    hits.setdefault(
                        number,
                        _Hit(number, lines[number - 1], hit.secret, how),
                    )
        return hits

    def hits(self, text, markers, output=False, markup=None) -> list[_Hit]:
        """Everything found in `text`. For an HTML page, `text` is what it
        shows and `markup` its source: encodings are looked for in the source,
        whose attributes can hold what the text does not show."""
        found = self.encoded(text if markup is None else markup)
        found.update(self.plain(text, markers, output))
        return [found[number] for number in sorted(found)]


def _line_starts(lines, separator: int = 1) -> list[int]:
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + separator
    return starts


def _decoded_blobs(lines: list[str]):
    """(line, encoding, decoded text) of every base64 or hex run that decodes
    to UTF-8 text."""
    for number, line in enumerate(lines, start=1):
        for match in _HEX_BLOB.finditer(line):
            decoded = _utf8(bytes.fromhex(match.group()))
            if decoded:
                yield number, "hex", decoded
        for match in _BASE64_BLOB.finditer(line):
            blob = match.group().rstrip("=")
            blob = blob.translate(str.maketrans("-_", "+/"))
            try:
                data = base64.b64decode(
                    blob + "=" * (-len(blob) % 4), validate=True
                )
            except ValueError:
                continue
            decoded = _utf8(data)
            if decoded:
                yield number, "base64", decoded


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- scanning ----------------------------------------------------------------


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


_FINDERS: dict = {}  # (id of a secrets dict, kinds) -> (the dict, its Finder)


def _finder(secrets, kinds) -> Finder:
    """A Finder of these secrets, built once (validate scans notebook after
    notebook with one secrets dict)."""
    if isinstance(secrets, Finder):
        return secrets
    key = (id(secrets), tuple(kinds))
    held, finder = _FINDERS.get(key, (None, None))
    if held is not secrets:
        finder = Finder(secrets, kinds)
        _FINDERS.clear()  # one course at a time: keep memory flat
        _FINDERS[key] = (secrets, finder)
    return finder


def scan_notebook(
    path: Path,
    secrets: dict[str, Secret] | Finder,
    kinds=("solution", "hidden test"),
    markers: bool = True,
) -> list[Leak]:
    finder = _finder(secrets, kinds)
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    leaks = []
    for index, cell in enumerate(notebook.get("cells", [])):
        cell_id = cell.get("id") or cell.get("metadata", {}).get(
            "nbgrader", {}
        ).get("grade_id")
        source = _joined(cell.get("source", ""))
        outputs = "\n".join(_output_text(o) for o in cell.get("outputs", []))
        for where, hits in (
            ("source", finder.hits(source, markers)),
            ("output", finder.hits(outputs, markers, output=True)),
        ):
            leaks += [
                Leak(Path(path), index, cell_id, where, *_fields(hit))
                for hit in hits
            ]
    return leaks


def _fields(hit: _Hit) -> tuple:
    return hit.line, hit.text, hit.secret, hit.encoding


def scan_text_file(
    path: Path,
    secrets: dict[str, Secret] | Finder,
    kinds=("solution", "hidden test"),
    markers: bool = False,
) -> list[Leak]:
    finder = _finder(secrets, kinds)
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    markup = None
    if Path(path).suffix in (".html", ".htm"):
        text, markup = html_text(text), text
    return [
        Leak(Path(path), None, None, "source", *_fields(hit))
        for hit in finder.hits(text, markers, markup=markup)
    ]


def scan(
    paths, secrets: dict[str, Secret], kinds=("solution", "hidden test")
) -> list[Leak]:
    finder = _finder(secrets, kinds)
    leaks = []
    for path in paths:
        path = Path(path)
        if path.suffix == ".ipynb":
            leaks += scan_notebook(path, finder)
        else:
            leaks += scan_text_file(path, finder)
    return leaks


PAGE_SUFFIXES = (".md", ".html", ".txt")


def is_page(rel: str) -> bool:
    """A page of the book, narrative ones included (the instructor guide is
    public too), or a README."""
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith("book/modules/") and name.endswith(".py"):
        return True  # a module page as Jupytext writes it
    return name == "README.md" or (
        rel.startswith("book/") and name.endswith(PAGE_SUFFIXES)
    )


def built_pages(folder: Path) -> list[Path]:
    """Every page of a built site: HTML, and the sources and notebooks it
    offers for download."""
    suffixes = (".html", ".htm", ".ipynb", ".md", ".txt")
    return sorted(p for p in Path(folder).rglob("*") if p.suffix in suffixes)


def default_targets(
    repo: Path, source_dir: Path, extra: list[Path] = ()
) -> list[Path]:
    """Release notebooks, every book page (module pages and narrative ones),
    READMEs and every other notebook students can reach (not the sources, not
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
        if path.suffix == ".ipynb" or is_page(rel):
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
