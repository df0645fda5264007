"""Sphinx extension of the course site (loaded through
`sphinx.local_extensions` in _config.yml).

1. Launch buttons of a module page open the module's COMMITTED STUDENT
   NOTEBOOK (modules/release/NN_name/name_dev.ipynb) instead of the page's own
   file. sphinx-book-theme builds the Binder/Colab URLs in its
   `html-page-context` handler from the page's path; this handler runs right
   after it and swaps that path for the student notebook's, so repository,
   branch and URL formats stay the theme's.
2. Every module page ends with "Work on this module": the same Binder and
   Colab links as the header buttons (which are easy to miss), the module
   source, and the local commands.
3. A `module-map` directive: the table of modules with what each builds on,
   read from the module sources (their title, first sentence and
   `tinytorch.core` imports), so the map follows the modules that exist.
"""

from __future__ import annotations

import posixpath

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from tito.book import docname, module_for_docname, module_info, prerequisites
from tito.modules import RELEASE_DIR, ROOT, all_modules

logger = logging.getLogger(__name__)


def student_notebook_path(pagename: str) -> str | None:
    """modules/release/NN_name/name_dev.ipynb for a module page, None for any
    other page."""
    module = module_for_docname(pagename)
    return (
        module.release_notebook.relative_to(ROOT).as_posix()
        if module
        else None
    )


def retarget_launch_buttons(
    app, pagename, templatename, context, doctree
) -> None:
    target = student_notebook_path(pagename)
    if target is None:
        return
    if RELEASE_DIR.is_dir() and not (ROOT / target).is_file():
        logger.warning(
            f"launch buttons of {pagename} open {target}, which does not "
            "exist: "
            "run `tito nbgrader generate --all` (tito sync) and commit it"
        )
    theme_options = app.config.html_theme_options
    prefix = theme_options.get("path_to_docs", "").strip("/")
    theme_path = f"{prefix + '/' if prefix else ''}{pagename}.ipynb"
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group["buttons"]:
            if button.get("type") != "link":
                # the Thebe button runs this page's cells: nothing to retarget
                continue
            if not button["url"].endswith(theme_path):
                logger.warning(
                    f"cannot retarget the {button.get('text')} launch button "
                    f"of {pagename}: "
                    f"{button['url']} does not end in {theme_path}"
                )
                continue
            button["url"] = button["url"][: -len(theme_path)] + target


def drop_duplicate_scripts(
    app, pagename, templatename, context, doctree
) -> None:
    """Sphinx 7.4 lists an inline script added after builder init
    (sphinx-thebe's `const THEBE_JS_URL = …`) twice, and the second copy throws
    "Identifier has already been declared". Keep the first of each."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (
            getattr(script, "filename", script) or "",
            sorted(getattr(script, "attributes", {}).items()),
        )
        if repr(key) not in seen:
            seen.add(repr(key))
            unique.append(script)
    context["script_files"] = unique


def launch_urls(config, notebook: str) -> dict[str, str]:
    """Binder and Colab URLs of a notebook in the course repository, as
    sphinx-book-theme writes them."""
    theme = config.html_theme_options
    launch = theme.get("launch_buttons", {})
    repo, branch = (
        theme["repository_url"].rstrip("/"),
        theme.get("repository_branch") or "master",
    )
    org_repo = repo.split("github.com/", 1)[1]
    interface = {"classic": "tree", "jupyterlab": "lab/tree"}[
        launch.get("notebook_interface", "classic")
    ]
    urls = {}
    if launch.get("binderhub_url"):
        urls["Binder"] = (
            f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}?urlpath={interface}/{notebook}"
        )
    if launch.get("colab_url"):
        urls["Colab"] = (
            f"{launch['colab_url'].rstrip('/')}/github/{org_repo}/blob/{branch}/{notebook}"
        )
    return urls


def _paragraph(*parts) -> nodes.paragraph:
    """A paragraph from strings (text), ("code",) 1-tuples (literal) and (text,
    url) 2-tuples (links)."""
    paragraph = nodes.paragraph()
    for part in parts:
        if isinstance(part, str):
            paragraph += nodes.Text(part)
        elif len(part) == 1:
            paragraph += nodes.literal(part[0], part[0])
        else:
            paragraph += nodes.reference(part[0], part[0], refuri=part[1])
    return paragraph


def add_work_on_this_module(app, doctree) -> None:
    module = module_for_docname(app.env.docname)
    sections = [
        node for node in doctree.children if isinstance(node, nodes.section)
    ]
    if module is None or not sections:
        return
    notebook = student_notebook_path(app.env.docname)
    source = module.source.relative_to(ROOT).as_posix()
    theme = app.config.html_theme_options
    repo, branch = (
        theme["repository_url"].rstrip("/"),
        theme.get("repository_branch") or "master",
    )
    urls = launch_urls(app.config, notebook)

    items = nodes.bullet_list()
    if "Binder" in urls:
        items += nodes.list_item(
            "",
            _paragraph(
                ("Launch on Binder", urls["Binder"]),
                ": Jupyter in your browser with the course installed, nothing "
                "to "
                "install. Sessions are temporary: download your notebook "
                "(File → Download) before you leave.",
            ),
        )
    if "Colab" in urls:
        items += nodes.list_item(
            "",
            _paragraph(
                ("Open in Colab", urls["Colab"]),
                ": run the first cell first (it installs ",
                ("tinytorch",),
                "), and save a copy to your Drive to keep your work.",
            ),
        )
    getting_started = addnodes.pending_xref(
        "",
        nodes.inline("", "Getting started"),
        refdomain="std",
        reftype="doc",
        reftarget="/book/getting-started",
        refexplicit=True,
        refdoc=app.env.docname,
    )
    local = _paragraph("Work locally (see ")
    local += getting_started
    local += _paragraph(
        "): edit ",
        (source, f"{repo}/blob/{branch}/{source}"),
        ", then run ",
        (
            f"tito export --module {module.name} && tito test --module "
            f"{module.name}",
        ),
        ".",
    ).children
    items += nodes.list_item("", local)

    section = nodes.section(
        ids=["work-on-this-module"], names=["work on this module"]
    )
    section += nodes.title("", "Work on this module")
    section += _paragraph(
        "Every page of this site is read-only. To do the exercises, open the "
        "student "
        "notebook of this module, ",
        (notebook,),
        ", one of these ways:",
    )
    section += items
    sections[-1] += (
        # at the end of the page, as a subsection of its last top-level section
        section
    )


class ModuleMap(SphinxDirective):
    """A table of every module: title (linked), what it is about, and the
    modules it builds on."""

    option_spec = {"centre": directives.unchanged}

    def run(self):
        infos = [module_info(m) for m in all_modules()]
        centre = self.options.get("centre", "")
        for info in infos:  # the map changes when a module source does
            self.env.note_dependency(str(info.module.source))
        base = posixpath.dirname(self.env.docname) or "."

        def link(
            module, text
        ):  # a {doc} reference relative to the page holding the map
            return (
                f"{{doc}}`{text} <{posixpath.relpath(docname(module), base)}>`"
            )

        rows = ["| Module | About | Builds on |", "| --- | --- | --- |"]
        for info in infos:
            title = link(info.module, info.title)
            if info.module.name == centre:
                title = f"**{title}** ★"
            needs = ", ".join(
                link(m, f"{m.number:02d}&nbsp;{m.name.title()}")
                for m in sorted(
                    prerequisites(info, infos), key=lambda m: m.number
                )
            )
            summary = info.summary.replace("|", "\\|")
            rows.append(f"| {title} | {summary} | {needs or '—'} |")
        container = nodes.container(classes=["module-map"])
        self.state.nested_parse(
            StringList(rows, source="module-map"),
            self.content_offset,
            container,
        )
        return [container]


def repository_substitutions(app, config) -> None:
    """`{{ repository_url }}` in a page: the one repository setting of
    _config.yml."""
    url = config.html_theme_options.get("repository_url", "")
    config.myst_substitutions = {
        "repository_url": f"<{url}>",
        **(config.myst_substitutions or {}),
    }


def setup(app):
    app.add_directive("module-map", ModuleMap)
    app.connect("config-inited", repository_substitutions)
    app.connect(
        "doctree-read", add_work_on_this_module, priority=400
    )  # before the page's toc is collected
    # sphinx-book-theme adds its launch buttons at priority 501; ours must see
    # them
    app.connect("html-page-context", retarget_launch_buttons, priority=600)
    # after every handler that adds scripts to the page (myst-nb adds the
    # widget scripts at 500)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "version": "1",
    }
