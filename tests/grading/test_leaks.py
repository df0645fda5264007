"""The leak check finds what leaks: secret lines inside longer lines, base64-
and hex-encoded (at any offset, wrapped, nested), in narrative pages (.md
sources and built .html), and in feedback, where a leaking page is withheld for
that student only. It stays quiet on what the course shows on purpose, and the
real repository passes.

Most tests use a toy course (one module, a few secrets); no nbgrader pipeline
runs.
"""

from __future__ import annotations

import base64
import html

import nbformat
import pytest
from cell_markers import with_nbgrader
from nbgrader_support import REPO

from tito.cli import main
from tito.grading.leaks import (
    Finder,
    check,
    course_secrets,
    default_targets,
    scan,
)

TOY = with_nbgrader("""\
# %% [markdown]
# The update, shown in the prose: `total = total + value * weight`.

# %% solution: weighted-sum
def weighted_sum(values, weights):
    ### BEGIN SOLUTION
    total = 0.0
    for value, weight in zip(values, weights):
        total = total + value * weight
    y = 2*total
    return total
    ### END SOLUTION

# %% test: test-weighted-sum, 1 point
def test_unit_weighted_sum():
    assert weighted_sum([1], [2]) == 2
    ### BEGIN HIDDEN TESTS
    assert weighted_sum([1.5, -2.0, 4.0], [2.0, 0.25, 3.0]) == 14.5
    ### END HIDDEN TESTS
""")
HIDDEN = "assert weighted_sum([1.5, -2.0, 4.0], [2.0, 0.25, 3.0]) == 14.5"
SOLUTION = "for value, weight in zip(values, weights):"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A course of one module: nbgrader_config.py and
    modules/source/01_toy/toy_dev.py."""
    root = tmp_path_factory.mktemp("toy")
    (root / "nbgrader_config.py").write_text(
        (REPO / "nbgrader_config.py").read_text()
    )
    source = root / "modules" / "source" / "01_toy" / "toy_dev.py"
    source.parent.mkdir(parents=True)
    source.write_text(TOY)
    return root


@pytest.fixture(scope="module")
def secrets(toy):
    return course_secrets(toy / "modules" / "source")


def _page(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _printed(tmp_path, text):
    """A graded notebook whose one cell printed `text` (what a submission's
    hook could do)."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "print(captured)",
                outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text=text)
                ],
            )
        ]
    )
    path = tmp_path / "graded.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_toy_secrets(secrets):
    assert set(secrets) == {
        "total = 0.0",
        SOLUTION,
        HIDDEN,
        "y = 2*total",
        "return total",
    }
    # shown in the prose (inside backticks): not a secret
    assert "total = total + value * weight" not in secrets


# --- encodings ---------------------------------------------------------------


def _hidden_cell() -> bytes:
    """The hidden part of the test cell as a pre_run_cell hook would capture
    it, indentation included."""
    return f"    ### BEGIN HIDDEN TESTS\n    {HIDDEN}\n".encode()


@pytest.mark.parametrize(
    "offset", [0, 1, 2]
)  # base64 reads differently at each
def test_a_base64_encoded_hidden_test_is_caught(tmp_path, secrets, offset):
    blob = base64.b64encode(b"#" * offset + _hidden_cell()).decode()
    leaks = scan([_printed(tmp_path, f"captured: {blob}\n")], secrets)
    assert [(k.where, k.encoding, k.secret.line) for k in leaks] == [
        ("output", "base64", HIDDEN)
    ]
    assert "base64-encoded" in str(leaks[0])


def test_base64_wrapped_over_lines_and_urlsafe_are_caught(tmp_path, secrets):
    wrapped = base64.encodebytes(b"xy" + _hidden_cell() * 3).decode()
    assert wrapped.count("\n") > 2  # 76 columns a line
    urlsafe = base64.urlsafe_b64encode(b"~~~" + _hidden_cell()).decode()
    for text in (wrapped, urlsafe):
        leaks = scan([_printed(tmp_path, text)], secrets)
        assert leaks and {k.secret.line for k in leaks} == {HIDDEN}, text


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_a_hex_encoded_hidden_test_is_caught(tmp_path, secrets, case):
    text = case(_hidden_cell().hex())
    leaks = scan([_printed(tmp_path, text)], secrets)
    assert [(k.encoding, k.secret.line) for k in leaks] == [("hex", HIDDEN)]


def test_a_nested_encoding_is_decoded(tmp_path, secrets):
    nested = base64.b64encode(_hidden_cell().hex().encode()).decode()
    leaks = scan([_printed(tmp_path, nested)], secrets)
    assert [k.secret.line for k in leaks] == [HIDDEN]
    assert "hex" in leaks[0].encoding and "base64" in leaks[0].encoding


def test_encoded_text_without_a_secret_is_no_leak(tmp_path, secrets):
    harmless = [
        base64.b64encode(b"assert weighted_sum([1], [2]) == 2").decode(),
        base64.b64encode(bytes(range(256))).decode(),  # binary, like an image
        "0123456789abcdef" * 8,
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
    ]
    assert scan([_printed(tmp_path, "\n".join(harmless))], secrets) == []


# --- narrative pages ---------------------------------------------------------


def test_a_solution_line_quoted_in_a_markdown_page_is_caught(
    tmp_path, secrets
):
    page = _page(
        tmp_path,
        "guide.md",
        "# Guide\n\nA finding reads: cell weighted-sum, "
        f"'{SOLUTION}' (and the loop body).\n",
    )
    leaks = scan([page], secrets)
    assert [(k.line, k.secret.line, k.secret.kind) for k in leaks] == [
        (3, SOLUTION, "solution")
    ]


def test_a_solution_line_in_a_built_html_page_is_caught(tmp_path, secrets):
    # as Sphinx writes a code block: one span per token, quotes as entities
    tokens = "".join(
        f'<span class="n">{html.escape(word, quote=True)}</span> '
        for word in SOLUTION.split()
    )
    page = _page(
        tmp_path,
        "guide.html",
        f"<html><body><p>Example:</p>\n<pre>{tokens.rstrip()}</pre>\n"
        "</body></html>\n",
    )
    leaks = scan([page], secrets)
    assert [k.secret.line for k in leaks] == [SOLUTION]


def test_lines_shown_on_purpose_and_short_lines_stay_allowed(
    tmp_path, secrets
):
    page = _page(
        tmp_path,
        "notes.md",
        "The update is total = total + value * weight, every step.\n"
        "Inside prose, y = 2*total is too short to tell, and so is "
        "return total: words alone.\n"
        "```python\ntotal = 0.0\n```\n",  # a short secret as a whole line
    )
    assert [k.line for k in scan([page], secrets)] == [4]


def test_leaks_html_scans_every_built_page(toy, tmp_path, capsys):
    site = tmp_path / "_build" / "html"
    (site / "_sources" / "book").mkdir(parents=True)
    (site / "book").mkdir()
    _page(site / "book", "intro.html", "<p>Welcome</p>\n")
    _page(site / "book", "instructor-guide.html", f"<p>'{SOLUTION}'</p>\n")
    _page(site / "_sources" / "book", "instructor-guide.md", f"'{SOLUTION}'\n")
    args = ["nbgrader", "leaks", "--course", str(toy)]
    assert main([*args, "--html", str(site)]) == 1
    out = capsys.readouterr().out
    assert "book/instructor-guide.html: file, line 1: solution line" in out
    assert "_sources/book/instructor-guide.md" in out
    assert "2 leak(s)" in out
    assert main([*args, "--html", str(tmp_path / "nope")]) == 2


def test_default_targets_hold_the_narrative_pages(toy):
    book = toy / "book"
    (book / "modules").mkdir(parents=True)
    _page(book, "instructor-guide.md", f"Quoted: {SOLUTION}\n")
    _page(book / "modules", "01_toy.md", "The module page.\n")
    source = toy / "modules" / "source"
    targets = default_targets(toy, source)
    assert book / "instructor-guide.md" in targets
    assert book / "modules" / "01_toy.md" in targets
    _, leaks = check(toy, source)
    assert [k.path.name for k in leaks] == ["instructor-guide.md"]


# --- the real repository -----------------------------------------------------


@pytest.fixture(scope="module")
def real_secrets():
    return course_secrets(REPO / "modules" / "source")


def test_the_real_repository_passes(real_secrets):
    targets = default_targets(REPO, REPO / "modules" / "source")
    assert REPO / "book" / "instructor-guide.md" in targets
    assert REPO / "README.md" in targets
    leaks = scan(targets, real_secrets)
    assert leaks == [], "\n".join(map(str, leaks))


def test_the_real_built_site_passes(real_secrets):
    site = REPO / "_build" / "html"
    if not (site / "book" / "instructor-guide.html").is_file():
        pytest.skip("the site is not built (tito book build)")
    from tito.grading.leaks import built_pages

    leaks = scan(built_pages(site), real_secrets)
    assert leaks == [], "\n".join(map(str, leaks))


def test_a_real_sgd_step_line_quoted_in_the_guide_would_be_caught(
    tmp_path, real_secrets
):
    """The leak the published guide had: a solution line of SGD.step quoted in
    a sentence."""
    line = next(
        s.line
        for s in real_secrets.values()
        if s.grade_id == "sgd-step" and len(s.line) > 30
    )
    guide = (REPO / "book" / "instructor-guide.md").read_text()
    quoted = _page(tmp_path, "guide.md", guide + f"\nLEAK ...: '{line}'\n")
    leaks = scan([quoted], real_secrets)
    assert [(k.secret.grade_id, k.secret.line) for k in leaks] == [
        ("sgd-step", line)
    ]


# --- feedback: withheld for that student only --------------------------------


def test_a_leaking_feedback_page_is_withheld_for_that_student_only(
    toy, monkeypatch, capsys
):
    """nbgrader's generate_feedback is replaced by a page writer: eve's page
    carries her hook's base64 capture of the hidden test, ada's and lin's are
    clean."""
    from tito.grading import course as grading

    course = grading.Course(toy)
    assignment = course.find("toy")
    blob = base64.b64encode(_hidden_cell()).decode()
    printed = {"ada": "Score: 1 / 1", "eve": blob, "lin": "Score: 0 / 1"}
    for student in printed:
        graded = assignment.autograded_notebook(student)
        graded.parent.mkdir(parents=True, exist_ok=True)
        graded.write_text("{}")

    def fake_feedback(converter, config, log, **kwargs):
        student = config.CourseDirectory.student_id
        page = assignment.feedback_html(student)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<html><pre>{printed[student]}</pre></html>\n")

    monkeypatch.setattr(grading, "run_converter", fake_feedback)
    command = ["nbgrader", "feedback", "--module", "toy", "--course", str(toy)]
    assert main(command) == 1
    out = capsys.readouterr().out

    assert assignment.feedback_html("ada").is_file()
    assert assignment.feedback_html("lin").is_file()
    assert not (course.feedback / "eve").joinpath("01_toy").exists()
    kept = (
        course.logs / "feedback-withheld" / "eve" / "01_toy" / "toy_dev.html"
    )
    assert blob in kept.read_text()  # kept for the instructor to look at
    assert "WITHHELD eve 01_toy" in out and "base64-encoded" in out
    assert "test-weighted-sum" in out
    withheld = [line for line in out.splitlines() if "WITHHELD" in line]
    assert len(withheld) == 1 and withheld[0].startswith("WITHHELD eve ")
    assert f"LEAK {kept}: file, line 1: hidden test line" in out
    assert "wrote 2 feedback page(s)" in out and "withheld 1" in out

    run = grading.generate_feedback(course, [assignment], ["ada", "lin"])
    assert [w.student for w in run.withheld] == []
    assert run.written == [
        assignment.feedback_html("ada"),
        assignment.feedback_html("lin"),
    ]


def test_finder_reports_a_line_once_as_its_longest_secret(secrets):
    finder = Finder(secrets, ("solution", "hidden test"))
    text = f"x = 1; {SOLUTION} {HIDDEN}\nnothing here\n"
    hits = finder.hits(text, markers=False)
    assert [(h.line, h.secret.line) for h in hits] == [(1, HIDDEN)]


def test_the_guide_documents_the_checks():
    guide = (REPO / "book" / "instructor-guide.md").read_text()
    for words in ("base64", "hex", "--html _build/html", "withheld"):
        assert words in guide, words
