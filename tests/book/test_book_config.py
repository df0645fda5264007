"""The site's configuration, its vendored JavaScript, the Binder environment
and the Pages workflow."""

from __future__ import annotations

import json
import os
import re

import yaml
from book_support import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
SPHINX = CONFIG["sphinx"]["config"]
STATIC = ROOT / "book" / "_static"


def pins(path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_repository_is_one_setting_with_a_branch():
    repository = CONFIG["repository"]
    assert (
        repository["url"].startswith("https://github.com/")
        and repository["branch"]
    )
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert (
        text.count(repository["url"]) == 1
    )  # written once; everything else reads it


def test_book_settings():
    assert CONFIG["only_build_toc_files"] is True
    assert (
        CONFIG["execute"]["execute_notebooks"] == "off"
    )  # pages are executed by `tito book pages`
    launch = CONFIG["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["thebe"] is True
    assert CONFIG["html"]["use_repository_button"] is True
    assert SPHINX["html_theme_options"]["use_download_button"] is True
    assert CONFIG["sphinx"]["local_extensions"] == {
        "tinytorch_book": "book/_ext"
    }


def test_pages_load_javascript_only_from_the_site():
    scripts = [SPHINX["mathjax_path"], *SPHINX["nb_ipywidgets_js"]]
    for script in scripts:
        assert "://" not in script, (
            f"{script} would be fetched from the network"
        )
        assert (STATIC / script).is_file(), (
            f"book/_static/{script} is missing: `npm ci && npm run vendor`"
        )
    assert list(SPHINX["nb_ipywidgets_js"])[0].endswith(
        "require.js"
    )  # the AMD loader first
    assert list(SPHINX["nb_ipywidgets_js"])[-1].endswith("embed-amd.js")


def test_vendored_versions_match_package_json_and_the_lock_file():
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    vendored = dict(
        line.split(" ")[:2]
        for line in (STATIC / "vendor" / "VERSIONS.txt")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    assert vendored == package["devDependencies"]
    for name, version in vendored.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    # the widget bundle's Font Awesome files sit beside it
    # (tinytorch-widgets.js points the bundle there)
    fonts = re.findall(
        r'"([0-9a-f]{20}\.(?:woff2?|ttf|eot|svg))"',
        (STATIC / "vendor" / "html-manager" / "embed-amd.js").read_text(
            encoding="utf-8"
        ),
    )
    assert fonts and all(
        (STATIC / "vendor" / "html-manager" / font).is_file() for font in fonts
    )


def test_binder_requirements_are_pinned_to_the_project_constraints():
    constraints = pins(ROOT / "requirements" / "constraints.txt")
    binder = pins(ROOT / "binder" / "requirements.txt")
    for name in (
        "numpy",
        "scikit-learn",
        "matplotlib",
        "ipywidgets",
        "widgetsnbextension",
        "jupyterlab-widgets",
        "pyyaml",
        "jupytext",
    ):
        assert name in binder, f"binder/requirements.txt lacks {name}"
    mismatched = {
        name: (version, constraints.get(name))
        for name, version in binder.items()
        if constraints.get(name) != version
    }
    assert not mismatched, (
        f"binder pins differ from requirements/constraints.txt: {mismatched}"
    )


def test_binder_runtime_and_post_build():
    runtime = (
        (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    )
    assert re.fullmatch(r"python-3\.(1[0-9])", runtime)
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK)
    commands = [
        line.strip()
        for line in post_build.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert commands[0] == "set -e"
    assert any(
        re.search(r"pip install .*(-e )?\.$", command) for command in commands
    )


def test_pages_workflow_builds_the_book_and_deploys_it():
    workflow = yaml.safe_load(
        (ROOT / ".github" / "workflows" / "book.yml").read_text(
            encoding="utf-8"
        )
    )
    build_steps = workflow["jobs"]["build"]["steps"]
    runs = "\n".join(step.get("run", "") for step in build_steps)
    assert "tito book build --check" in runs and re.search(
        r"tito book build$", runs, re.MULTILINE
    )
    upload = next(
        step
        for step in build_steps
        if step.get("uses", "").startswith("actions/upload-pages-artifact")
    )
    assert upload["with"]["path"] == "_build/html"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(
        step.get("uses", "").startswith("actions/deploy-pages")
        for step in deploy["steps"]
    )
