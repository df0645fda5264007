"""CapOutputs: a graded run keeps a bounded amount of what cells printed.

nbgrader's LimitOutput counts lines, so one 100 MB line passes whole into
the autograded notebook and the feedback page. Here each code cell keeps
at most CELL_TEXT characters of text (streams, text results, error
messages) and the notebook at most NOTEBOOK_TOTAL characters of output of
every kind (images included); a note says how much was cut. Error outputs
always stay, shortened: nbgrader grades a test cell by whether it has one.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Integer

CELL_TEXT = 64 * 1024  # characters of text per cell
NOTEBOOK_TOTAL = 1024 * 1024  # characters of output per notebook
ERROR_PART = 4 * 1024  # characters of an error message or traceback entry


CUT = "tito_output_cut"  # resources: cell index -> characters dropped


class CapStreamsWhileRunning:
    """A mixin of the course's Execute preprocessor: stream text past a
    cell's CELL_TEXT is dropped as it arrives, so a 100 MB print is never
    held in memory; CapOutputs later says how much was dropped."""

    capping = True  # off while the grader runs its own code in the kernel

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream" and self.capping:
            text = msg["content"].get("text", "")
            room = CELL_TEXT - sum(
                len(o.get("text", "")) for o in outs if "text" in o
            )
            if len(text) > room:
                dropped = self.resources.setdefault(CUT, {})
                excess = len(text) - max(room, 0)
                dropped[cell_index] = dropped.get(cell_index, 0) + excess
                if room <= 0:
                    return None
                content = {**msg["content"], "text": text[:room]}
                msg = {**msg, "content": content}
        return super().output(outs, msg, display_id, cell_index)


def _size(output) -> int:
    if output.output_type == "stream":
        return len(output.get("text", ""))
    if output.output_type == "error":
        return len(output.get("evalue", "")) + sum(
            map(len, output.get("traceback", []))
        )
    return sum(len(str(value)) for value in output.get("data", {}).values())


def _is_text(output) -> bool:
    if output.output_type in ("stream", "error"):
        return True
    return all(kind.startswith("text/") for kind in output.get("data", {}))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " […]"


class CapOutputs(Preprocessor):
    """Cut each cell's outputs to `cell_text` characters of text and the
    notebook's to `notebook_total` characters in all, with a note."""

    enabled = Bool(True)
    cell_text = Integer(CELL_TEXT).tag(config=True)
    notebook_total = Integer(NOTEBOOK_TOTAL).tag(config=True)

    def preprocess(self, nb, resources):
        self._left = self.notebook_total
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        text_left, kept = self.cell_text, []
        cut = resources.get(CUT, {}).get(index, 0)  # dropped while running
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue = _shorten(output.get("evalue", ""), ERROR_PART)
                output.traceback = [
                    _shorten(entry, ERROR_PART)
                    for entry in output.get("traceback", [])
                ]
            size = _size(output)
            room = min(self._left, text_left if _is_text(output) else size)
            if output.output_type == "error" or size <= room:
                kept.append(output)
            elif output.output_type == "stream" and room > 0:
                output.text = output.text[:room]
                kept.append(output)
                cut += size - room
                size = room
            else:
                cut += size
                continue
            self._left = max(0, self._left - size)
            if _is_text(output):
                text_left = max(0, text_left - size)
        if cut:
            kept.append(self._note(cut))
        cell.outputs = kept
        return cell, resources

    def _note(self, cut: int) -> NotebookNode:
        return NotebookNode(
            output_type="stream",
            name="stderr",
            text=(
                f"\n[output cut: {cut:,} characters not kept. A graded run "
                f"keeps {self.cell_text // 1024} KiB of text per cell and "
                f"{self.notebook_total // 1024} KiB of output per notebook.]"
                "\n"
            ),
        )
