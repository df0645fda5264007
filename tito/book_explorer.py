"""The no-kernel optimizer explorer of module 09's book page.

The notebook runs the learner's optimizers over a grid of slider values and
displays the trajectories as one output of type EXPLORER_MIME (JSON):

    {"landscapes": {name: {"title", "box", "start", "minimum", "steps",
                           "heights": [[f(x, y), ...], ...],   # rows = y
                           "grids": {"sgd": {param: [values]}, "adam": ...},
                           "runs": {"sgd": [[path, final loss], ...], ...}}}}

with the runs of each optimizer in the order of itertools.product over its
grid. `tito book pages` replaces that output by a self-contained HTML block
(SVG contour lines, sliders, the trajectories, tito/book_explorer.js), so the
page needs no kernel, server or network. In a notebook the output shows its
text/plain line.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

EXPLORER_MIME = "application/vnd.tinytorch.optimizer-explorer+json"
SCRIPT = Path(__file__).with_suffix(".js")
SIZE = 400  # pixels of the square plot


def to_pixels(points, box, size=SIZE):
    """Data coordinates -> SVG pixels of a size×size plot (y grows down)."""
    (x_low, x_high), (y_low, y_high) = box
    points = np.asarray(points, dtype=np.float64)
    return np.stack(
        [
            (points[..., 0] - x_low) / (x_high - x_low) * size,
            (y_high - points[..., 1]) / (y_high - y_low) * size,
        ],
        axis=-1,
    )


def encode_path(path, box, size=SIZE):
    """A trajectory as base64 of little-endian int16 pixel coordinates × 10,
    and the step at which it left the plot (-1 if it never did).

    The path is cut after its first point far outside the plot (it has
    diverged, or is about to), and repeated final points (a converged run)
    are dropped: the page stays small.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        pixels = to_pixels(path, box, size)
        outside = ~np.all(
            np.isfinite(pixels) & (pixels > -2 * size) & (pixels < 3 * size),
            axis=1,
        )
    left_at = int(np.argmax(outside)) if outside.any() else -1
    if left_at >= 0:
        pixels = np.clip(
            np.nan_to_num(
                pixels[: left_at + 1], posinf=3 * size, neginf=-2 * size
            ),
            -2 * size,
            3 * size,
        )
    tenths = np.round(pixels * 10).astype("<i2")
    last = len(tenths) - 1
    while last > 0 and np.array_equal(tenths[last - 1], tenths[-1]):
        last -= 1
    text = base64.b64encode(tenths[: last + 1].tobytes()).decode("ascii")
    return text, left_at


def contour_svg(landscape, size=SIZE, num_levels=14):
    """Log-spaced contour lines of a landscape's height grid as SVG paths."""
    import contourpy
    import matplotlib

    (x_low, x_high), (y_low, y_high) = landscape["box"]
    heights = np.asarray(landscape["heights"], dtype=np.float64) + 1e-3
    grid_x, grid_y = np.meshgrid(
        np.linspace(x_low, x_high, heights.shape[1]),
        np.linspace(y_low, y_high, heights.shape[0]),
    )
    levels = np.geomspace(heights.min() * 1.5, heights.max(), num_levels)
    generator = contourpy.contour_generator(grid_x, grid_y, heights)
    colormap = matplotlib.colormaps["viridis"]
    elements = []
    for k, level in enumerate(levels):
        color = matplotlib.colors.to_hex(colormap(k / (num_levels - 1)))
        for line in generator.lines(level):
            pixels = to_pixels(line, landscape["box"], size)
            kept = [pixels[0]]
            for point in pixels[1:]:  # a point every 3 pixels is enough
                if np.hypot(*(point - kept[-1])) >= 3.0:
                    kept.append(point)
            kept.append(pixels[-1])
            d = "M" + " L".join(f"{x:.0f} {y:.0f}" for x, y in kept)
            elements.append(
                f'<path d="{d}" stroke="{color}" fill="none" '
                'stroke-width="0.8"/>'
            )
    return "".join(elements)


def _pixel_point(point, box, size):
    return [round(float(v), 1) for v in to_pixels(point, box, size)]


def page_data(landscapes, size=SIZE):
    """What the script reads: per landscape the grids, encoded runs, marks."""
    pages = {}
    for name, landscape in landscapes.items():
        box = landscape["box"]
        (x_low, x_high), (y_low, y_high) = box
        entry = {
            "steps": landscape["steps"],
            "grids": {},
            "runs": {},
            "start": _pixel_point(landscape["start"], box, size),
            "minimum": _pixel_point(landscape["minimum"], box, size),
            "caption": f"{landscape['title']}: x from {x_low:g} to "
            f"{x_high:g}, y from {y_low:g} to {y_high:g}; white dot: "
            "start, black dot: minimum, red ring: where the run ended",
        }
        for optimizer_name, settings in landscape["grids"].items():
            entry["grids"][optimizer_name] = {
                "params": list(settings),
                "values": {
                    key: [f"{v:g}" for v in values]
                    for key, values in settings.items()
                },
            }
            encoded = []
            for path, final_loss in landscape["runs"][optimizer_name]:
                text, left_at = encode_path(np.asarray(path), box, size)
                encoded.append([text, final_loss, left_at])
            entry["runs"][optimizer_name] = encoded
        pages[name] = entry
    return pages


def _slider_row(name, label, initial):
    return (
        f'<label data-row="{name}">{label} <input type="range" '
        f'data-param="{name}" min="0" max="5" step="1" value="{initial}"> '
        f'<output data-value-of="{name}"></output></label>'
    )


STYLE = """<style>
#optimizer-explorer .oe-controls {
  display: flex; flex-wrap: wrap; gap: 6px 18px; margin-bottom: 8px; }
#optimizer-explorer label {
  display: inline-flex; align-items: center; gap: 6px; }
#optimizer-explorer output {
  display: inline-block; min-width: 3.5em; font-family: monospace; }
#optimizer-explorer svg {
  border: 1px solid #ccc; background: #fff; max-width: 100%; height: auto; }
</style>"""


def explorer_html(data, size=SIZE, shown="rosenbrock"):
    """One self-contained HTML block for the EXPLORER_MIME payload `data`."""
    landscapes = data["landscapes"]
    shown = shown if shown in landscapes else next(iter(landscapes))
    hidden = ' style="display:none"'
    contour_groups = "".join(
        f'<g data-contours="{name}"{"" if name == shown else hidden}>'
        f"{contour_svg(landscape, size)}</g>"
        for name, landscape in landscapes.items()
    )
    options = "".join(
        f'<option value="{name}"{" selected" if name == shown else ""}>'
        f"{html.escape(landscape['title'])}</option>"
        for name, landscape in landscapes.items()
    )
    runs_json = json.dumps(
        {"landscapes": page_data(landscapes, size)}, separators=(",", ":")
    ).replace("</", "<\\/")
    script = SCRIPT.read_text(encoding="utf-8")
    sliders = "\n".join(
        [
            _slider_row("lr", "learning rate", 3),
            _slider_row("momentum", "momentum (SGD)", 3),
            _slider_row("beta1", "β1 (Adam)", 2),
            _slider_row("beta2", "β2 (Adam)", 2),
        ]
    )
    return f"""
<div id="optimizer-explorer" class="tex2jax_ignore mathjax_ignore"
     data-state="" style="font-family: sans-serif; font-size: 14px;
     max-width: 760px;">
{STYLE}
<div class="oe-controls">
<label>landscape <select data-param="landscape">{options}</select></label>
<label>optimizer <select data-param="optimizer">
<option value="sgd" selected>SGD with momentum</option>
<option value="adam">Adam</option></select></label>
</div>
<div class="oe-controls">
{sliders}
</div>
<svg viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img"
     aria-label="optimizer trajectory on a contour plot">
<defs><clipPath id="optimizer-explorer-clip">
<rect x="0" y="0" width="{size}" height="{size}"/></clipPath></defs>
<g clip-path="url(#optimizer-explorer-clip)">
{contour_groups}
<polyline data-role="path" fill="none" stroke="#d62728" stroke-width="1.4"
          stroke-linejoin="round"/>
<circle data-role="end" r="5" fill="none" stroke="#d62728" stroke-width="2"/>
</g>
<circle data-role="start" r="5" fill="#fff" stroke="#000" stroke-width="1.5"/>
<circle data-role="minimum" r="4" fill="#000"/>
</svg>
<div data-role="caption" style="color: #555; font-size: 12px;"></div>
<div data-role="readout" style="margin-top: 4px; font-weight: bold;"></div>
<script type="application/json" data-role="runs">{runs_json}</script>
<script>{script}</script>
</div>
"""


def render_explorer_outputs(notebook) -> int:
    """Turn every EXPLORER_MIME output of an executed notebook into HTML.

    The JSON payload is replaced (the page keeps only the HTML it shows);
    returns how many outputs were rendered.
    """
    rendered = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if EXPLORER_MIME in data:
                payload = data.pop(EXPLORER_MIME)
                if isinstance(payload, str):
                    payload = json.loads(payload)
                data["text/html"] = explorer_html(payload)
                rendered += 1
    return rendered
