"""The analysis helpers of module 09's Use and Optimize parts (the
demonstration cells of optimizers_dev.py), and the book tooling that turns the
explorer's trajectories into its page (tito/book_explorer.py).

The helpers are imported from the module source (the activation script puts
every module folder on the import path, as the page promises for
`from optimizers_dev import SGD`). Expected values are computed here
independently: restated formulas, a base64/int16 decoder written here,
closed-form rates, and the package's own Adam for the in-place variant.
"""

import base64
import json
import math
import re

import nbformat
import numpy as np
import pytest

from tinytorch.core.autograd import Variable
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tito import book_explorer

optimizers_dev = pytest.importorskip("optimizers_dev")
# importorskip only protects a checkout where the module source is not on the
# path; once spliced the names below must exist, so a missing one fails loudly:
REQUIRED = [
    "ill_conditioned_quadratic",
    "rosenbrock",
    "beale",
    "landscape_catalogue",
    "optimizer_path",
    "measured_rate",
    "before_underflow",
    "theoretical_rates",
    "heavy_ball_settings",
    "nesterov_settings",
    "explorer_grids",
    "explorer_runs",
    "explorer_data",
    "show_static_explorer",
    "adam_update_in_place",
    "optimizer_state_bytes",
]
# site plumbing lives in the book tooling, not in the learner's notebook
MOVED_TO_THE_BOOK = [
    "to_pixels",
    "encode_path",
    "contour_svg",
    "optimizer_explorer_html",
]


def test_the_module_defines_the_analysis_helpers():
    missing = [name for name in REQUIRED if not hasattr(optimizers_dev, name)]
    assert not missing, f"optimizers_dev lacks {missing}"
    kept = [
        name for name in MOVED_TO_THE_BOOK if hasattr(optimizers_dev, name)
    ]
    assert not kept, f"optimizers_dev still holds the site's {kept}"


def test_the_test_functions_are_the_textbook_ones():
    rng = np.random.default_rng(0)
    for x, y in rng.uniform(-2, 2, size=(50, 2)):
        assert optimizers_dev.rosenbrock(x, y) == pytest.approx(
            (1 - x) ** 2 + 100 * (y - x**2) ** 2, rel=1e-14
        )
        assert optimizers_dev.beale(x, y) == pytest.approx(
            (1.5 - x + x * y) ** 2
            + (2.25 - x + x * y**2) ** 2
            + (2.625 - x + x * y**3) ** 2,
            rel=1e-14,
        )
        c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
        u, v = c * x + s * y, -s * x + c * y
        assert optimizers_dev.ill_conditioned_quadratic(
            x, y, 20.0
        ) == pytest.approx((u * u + 20 * v * v) / 2, rel=1e-12)

    def f(point):  # f(θ) = θᵀAθ/2
        return optimizers_dev.ill_conditioned_quadratic(*point, 7.0)

    e1, e2 = np.eye(2)
    off_diagonal = f(e1 + e2) - f(e1) - f(e2)
    eigenvalues = np.linalg.eigvalsh(
        np.array([[2 * f(e1), off_diagonal], [off_diagonal, 2 * f(e2)]])
    )
    assert eigenvalues == pytest.approx([1.0, 7.0], rel=1e-12)


@pytest.mark.parametrize("name", ["quadratic", "rosenbrock", "beale"])
def test_catalogue_minimum_is_a_zero_and_the_start_is_in_the_box(
    name,
):
    spec = optimizers_dev.landscape_catalogue()[name]
    assert spec["function"](*spec["minimum"]) == 0.0
    point = Variable(
        np.array(spec["minimum"], dtype=float), requires_grad=True
    )
    spec["function"](point[0], point[1]).backward()
    assert np.array_equal(point.grad.data, [0.0, 0.0])
    (x_low, x_high), (y_low, y_high) = spec["box"]
    for x, y in (spec["start"], spec["minimum"]):
        assert x_low < x < x_high and y_low < y < y_high


def test_optimizer_path_starts_at_the_start_and_stops_when_it_blows_up():
    spec = optimizers_dev.landscape_catalogue()["quadratic"]
    path = optimizers_dev.optimizer_path(
        spec["function"], spec["start"], lambda p: SGD(p, lr=0.05), 30
    )
    assert path.shape == (31, 2) and np.array_equal(path[0], spec["start"])
    diverging = optimizers_dev.optimizer_path(
        spec["function"], spec["start"], lambda p: SGD(p, lr=0.2), 1000
    )
    assert len(diverging) < 1001
    assert not np.all(np.abs(diverging[-1]) < 1e6)
    assert np.all(np.abs(diverging[-2]) < 1e6)


def test_rates_and_settings_are_the_closed_forms():
    rates = optimizers_dev.theoretical_rates(20.0)
    assert rates["GD"] == pytest.approx(19 / 21, rel=1e-14)
    assert rates["heavy ball"] == pytest.approx(
        (math.sqrt(20) - 1) / (math.sqrt(20) + 1), rel=1e-14
    )
    assert rates["Nesterov"] == pytest.approx(1 - 1 / math.sqrt(20), rel=1e-14)
    lr, beta = optimizers_dev.heavy_ball_settings(1.0, 20.0)
    assert lr == pytest.approx(
        4 / (1 + math.sqrt(20)) ** 2
    ) and beta == pytest.approx(rates["heavy ball"] ** 2)
    lr, mu = optimizers_dev.nesterov_settings(1.0, 20.0)
    assert lr == pytest.approx(1 / 20) and mu == pytest.approx(
        rates["heavy ball"]
    )
    errors = 3.0 * 0.7 ** np.arange(2000)  # underflows to 0 after ~2000 steps
    assert optimizers_dev.measured_rate(
        optimizers_dev.before_underflow(errors)
    ) == pytest.approx(0.7, rel=1e-12)


def decode(text):
    """base64 of little-endian int16 pairs, in tenths of a pixel -> array of
    (x, y) pixels."""
    return (
        np.frombuffer(base64.b64decode(text), dtype="<i2").reshape(-1, 2)
        / 10.0
    )


def test_encode_path_round_trips_and_cuts_a_diverged_run():
    box = ((-2.0, 2.0), (-1.0, 3.0))
    path = np.array(
        [
            [-1.2, 1.0],
            [-1.0, 0.8],
            [0.5, 0.25],
            [1.0, 1.0],
            [1.0, 1.0],
            [1.0, 1.0],
        ]
    )
    text, left_at = book_explorer.encode_path(path, box)
    assert left_at == -1
    pixels = decode(text)
    assert len(pixels) == 4  # the repeated final points are dropped
    expected = np.column_stack(
        [(path[:4, 0] + 2) / 4 * 400, (3 - path[:4, 1]) / 4 * 400]
    )
    assert np.allclose(pixels, expected, atol=0.05)
    diverged = np.array(
        [[-1.2, 1.0], [3.0, 1.0], [40.0, -30.0], [1e9, 1e9], [np.inf, np.nan]]
    )
    text, left_at = book_explorer.encode_path(diverged, box)
    assert left_at == 2 and len(decode(text)) == 3


@pytest.fixture(scope="module")
def small_explorer():
    grids = {
        "quadratic": {
            "steps": 20,
            "sgd": {"lr": [0.05, 0.2], "momentum": [0.0, 0.9]},
            "adam": {"lr": [0.1], "beta1": [0.9], "beta2": [0.9, 0.999]},
        },
        "rosenbrock": {
            "steps": 20,
            "sgd": {"lr": [1e-3], "momentum": [0.5]},
            "adam": {"lr": [0.01, 0.1], "beta1": [0.0], "beta2": [0.99]},
        },
    }
    runs = optimizers_dev.explorer_runs(grids)
    data = json.loads(json.dumps(optimizers_dev.explorer_data(grids, runs)))
    return grids, runs, book_explorer.explorer_html(data)


def test_explorer_html_is_self_contained_and_findable(small_explorer):
    _, _, page = small_explorer
    assert page.count('id="optimizer-explorer"') == 1
    for name in ("landscape", "optimizer", "lr", "momentum", "beta1", "beta2"):
        assert f'data-param="{name}"' in page
    assert len(re.findall(r'<input type="range" data-param=', page)) == 4
    assert not re.search(r"(src|href)\s*=", page), (
        "no external scripts, styles or links"
    )
    assert "http://" not in page and "https://" not in page
    assert "require(" not in page and "jQuery" not in page and "$(" not in page
    assert "$" not in page, (
        "a dollar sign could be typeset by MathJax on the book page"
    )


def test_explorer_data_matches_the_runs(small_explorer):
    grids, runs, page = small_explorer
    payload = re.search(
        r'<script type="application/json" data-role="runs">(.*?)</script>',
        page,
        re.S,
    ).group(1)
    data = json.loads(payload)["landscapes"]
    for name, grid in grids.items():
        spec = optimizers_dev.landscape_catalogue()[name]
        start_pixels = book_explorer.to_pixels(spec["start"], spec["box"])
        assert data[name]["start"] == pytest.approx(
            list(start_pixels), abs=0.05
        )
        for optimizer_name in ("sgd", "adam"):
            values = grid[optimizer_name]
            assert data[name]["grids"][optimizer_name]["params"] == list(
                values
            )
            encoded = data[name]["runs"][optimizer_name]
            assert len(encoded) == math.prod(len(v) for v in values.values())
            keys = [key for key in runs if key[:2] == (name, optimizer_name)]
            for key, (text, final_loss, left_at) in zip(keys, encoded):
                pixels = decode(text)
                assert np.allclose(pixels[0], start_pixels, atol=0.05), (
                    "every trajectory starts at the start"
                )
                path = runs[key]
                if left_at < 0:
                    assert float(final_loss) == pytest.approx(
                        spec["function"](*path[-1]), rel=5e-3
                    )
                    # tenths of a pixel, after the notebook rounded the
                    # coordinates to 1e-4 (at most 0.01 pixel in these boxes)
                    assert np.allclose(
                        pixels[-1],
                        book_explorer.to_pixels(path[-1], spec["box"]),
                        atol=0.05 + 0.01,
                    )
    # the quadratic's SGD at lr 0.2 without momentum leaves the plot; at 0.05
    # it does not
    sgd_runs = data["quadratic"]["runs"][
        "sgd"
    ]  # order: (0.05, 0), (0.05, 0.9), (0.2, 0), (0.2, 0.9)
    assert sgd_runs[0][2] == -1 and sgd_runs[2][2] > 0


@pytest.mark.slow
def test_the_full_explorer_stays_small():
    grids = optimizers_dev.explorer_grids()
    data = optimizers_dev.explorer_data(
        grids, optimizers_dev.explorer_runs(grids)
    )
    page = book_explorer.explorer_html(data)
    assert len(page.encode("utf-8")) < 300 * 1024


def test_the_book_turns_the_notebooks_explorer_output_into_its_html():
    """`tito book pages` renders the notebook's data output; a notebook shows
    its text line; the page keeps the HTML only."""
    grids = {
        "quadratic": {
            "steps": 5,
            "sgd": {"lr": [0.05], "momentum": [0.0]},
            "adam": {"lr": [0.1], "beta1": [0.9], "beta2": [0.999]},
        }
    }
    runs = optimizers_dev.explorer_runs(grids)
    shown = []
    display = pytest.importorskip("IPython.display")
    original = display.display
    display.display = lambda bundle, raw=False: shown.append((bundle, raw))
    try:
        optimizers_dev.show_static_explorer(grids, runs)
    finally:
        display.display = original
    ((bundle, raw),) = shown
    assert raw and "trajectories" in bundle["text/plain"]
    payload = json.loads(json.dumps(bundle))  # what the notebook file holds
    cell = nbformat.v4.new_code_cell(
        "show_static_explorer(grids, runs)",
        outputs=[nbformat.v4.new_output("display_data", data=payload)],
    )
    notebook = nbformat.v4.new_notebook(cells=[cell])
    assert book_explorer.render_explorer_outputs(notebook) == 1
    data = notebook.cells[0].outputs[0]["data"]
    assert book_explorer.EXPLORER_MIME not in data
    assert data["text/html"].count('id="optimizer-explorer"') == 1
    assert book_explorer.render_explorer_outputs(notebook) == 0


def test_in_place_adam_is_the_packages_adam():
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal(50), rng.standard_normal((6, 50))
    p = Variable(start.copy(), requires_grad=True)
    adam = Adam([p], lr=1e-2, betas=(0.9, 0.99))
    theta, m, v, scratch = (
        start.copy(),
        np.zeros(50),
        np.zeros(50),
        np.empty((2, 50)),
    )
    for step, g in enumerate(grads, start=1):
        p.grad = Tensor(g.copy())
        adam.step()
        optimizers_dev.adam_update_in_place(
            theta, g, m, v, step, 1e-2, 0.9, 0.99, 1e-8, scratch
        )
    assert np.allclose(theta, p.data, rtol=1e-12, atol=1e-15)
    assert np.allclose(
        m, adam.state[p]["exp_avg"], rtol=1e-12
    ) and np.allclose(v, adam.state[p]["exp_avg_sq"], rtol=1e-12)


def test_optimizer_state_bytes_counts_the_arrays():
    p = Variable(np.zeros((3, 4), dtype=np.float32), requires_grad=True)
    p.grad = Tensor(np.ones((3, 4), dtype=np.float32))
    adam = Adam([p], lr=0.1)
    assert optimizers_dev.optimizer_state_bytes(adam) == 0
    adam.step()
    assert (
        optimizers_dev.optimizer_state_bytes(adam) == 2 * 12 * 4
    )  # exp_avg and exp_avg_sq; not "step"
