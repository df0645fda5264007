"""What the book tests check against, read straight from the repository
(independently of tito's own code).

The solution and hidden-test lines come from the module sources
(`modules/source/NN_name/name_dev.py`), between nbgrader's markers; a line that
also appears outside those regions (a blank line, `else:`, a line the prose
quotes) says nothing about a leak, so only the lines unique to the hidden
regions are kept.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML_DIR = ROOT / "_build" / "html"
PAGES_DIR = ROOT / "book" / "modules"

REGIONS = [
    ("### BEGIN SOLUTION", "### END SOLUTION"),
    ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
]
_CELL_MARKER = re.compile(r"^# %%(.*)$")


def module_slugs() -> list[str]:
    """NN_name of every module folder that has its name_dev.py, in course
    order."""
    found = []
    for folder in sorted((ROOT / "modules" / "source").glob("[0-9][0-9]_*")):
        name = folder.name.split("_", 1)[1]
        if (folder / f"{name}_dev.py").is_file():
            found.append(folder.name)
    return found


def source_of(slug: str) -> Path:
    return (
        ROOT / "modules" / "source" / slug / f"{slug.split('_', 1)[1]}_dev.py"
    )


def hidden_lines(source: str) -> set[str]:
    """Stripped lines that appear only inside solution / hidden-test regions
    (and markdown solution cells)."""
    inside, outside = set(), set()
    region_end = None
    markdown_solution = False
    for line in source.splitlines():
        stripped = line.strip()
        marker = _CELL_MARKER.match(line)
        if marker:
            header = marker.group(1)
            markdown_solution = (
                "[markdown]" in header and '"solution": true' in header
            )
            outside.add(stripped)
            continue
        if region_end is None:
            for begin, end in REGIONS:
                if stripped == begin:
                    region_end = end
                    break
            if region_end is not None:
                continue
        elif stripped == region_end:
            region_end = None
            continue
        if markdown_solution:
            stripped = stripped.removeprefix("#").strip()
        (
            inside if region_end is not None or markdown_solution else outside
        ).add(stripped)
    return {line for line in inside - outside if line and len(line) > 3}


def repository() -> tuple[str, str]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/"), config["repository"][
        "branch"
    ]


def bootstrap_install_command(source: str) -> list[str] | None:
    """Run a bootstrap cell as Colab would (no `tinytorch` installed yet).

    Returns the command it runs to install the package, or None when it
    runs none; nothing is installed.
    """
    import importlib.util
    from unittest import mock

    real_find_spec = importlib.util.find_spec
    commands = []

    def missing_tinytorch(name, *args, **kwargs):
        if name == "tinytorch":
            return None
        return real_find_spec(name, *args, **kwargs)

    with (
        mock.patch("importlib.util.find_spec", missing_tinytorch),
        mock.patch(
            "subprocess.run", lambda command, **_: commands.append(command)
        ),
    ):
        exec(compile(source, "<bootstrap cell>", "exec"), {})
    return commands[0] if commands else None


def git_tracked(path: str) -> bool:
    result = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "--", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return result.returncode == 0


def toc_docnames() -> list[str]:
    """Every page the table of contents lists (the root first)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]
    for part in toc.get("parts", []):
        names += [chapter["file"] for chapter in part.get("chapters", [])]
    return names


def page_notebook(slug: str) -> dict:
    return json.loads(
        (PAGES_DIR / f"{slug}.ipynb").read_text(encoding="utf-8")
    )
