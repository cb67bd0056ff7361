#!/usr/bin/env python3
"""Execute the analyst notebooks headless and check them (`make notebooks`, part of `make test`).

    run_notebooks.py --warehouse data/demo/warehouse --out data/reports/notebooks notebooks/*.ipynb

For each notebook: the committed file must have its outputs stripped; it runs top to bottom with
nbclient in a kernel whose RELAYTRAIL_WAREHOUSE points at `--warehouse`; no cell may fail; it must
render at least one figure; no figure may contain an axes without data or with one flat value
(checked inside the kernel when the figure is drawn) and no rendered PNG may be blank. The executed copy, outputs included,
is written atomically to `--out`. Exit status 1 names every notebook and cell that failed.
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import time
from pathlib import Path

import nbformat
from matplotlib import image
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# Run in the kernel before the notebook: every figure drawn is checked for axes without data.
FIGURE_CHECK_SETUP = """
from matplotlib.backend_bases import FigureCanvasBase as _Canvas
_relaytrail_empty_axes = []
_relaytrail_print_figure = _Canvas.print_figure
def _relaytrail_checked_print_figure(self, *args, **kwargs):
    for number, axes in enumerate(self.figure.axes):
        if not (axes.get_visible() and axes.axison):
            continue
        if not axes.has_data():
            _relaytrail_empty_axes.append(f"axes {number} ({axes.get_title()!r}) of a figure has no data")
        elif axes.dataLim.height == 0:
            _relaytrail_empty_axes.append(f"axes {number} ({axes.get_title()!r}) plots only one value")
    return _relaytrail_print_figure(self, *args, **kwargs)
_Canvas.print_figure = _relaytrail_checked_print_figure
"""
FIGURE_CHECK_RESULT = "assert not _relaytrail_empty_axes, _relaytrail_empty_axes"


def stripped_problems(notebook) -> list[str]:
    return [
        f"cell {index} is committed with outputs (strip them: jupyter nbconvert --clear-output)"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]


def blank(png: bytes) -> bool:
    pixels = image.imread(io.BytesIO(png), format="png")
    return float(pixels.std()) == 0.0


def run(path: Path, warehouse: Path, out: Path, timeout: int) -> list[str]:
    """Problems found in one notebook (empty when it passed)."""
    notebook = nbformat.read(path, as_version=4)
    problems = stripped_problems(notebook)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FIGURE_CHECK_SETUP))
    notebook.cells.append(nbformat.v4.new_code_cell(FIGURE_CHECK_RESULT))
    os.environ["RELAYTRAIL_WAREHOUSE"] = str(warehouse.resolve())
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        problems.append(f"a cell failed:\n{error}")
    figures = 0
    for index, cell in enumerate(notebook.cells[1:-1]):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                figures += 1
                if blank(base64.b64decode(png)):
                    problems.append(f"cell {index} rendered a blank figure")
    if figures == 0:
        problems.append("rendered no figure")
    notebook.cells = notebook.cells[1:-1]
    out.mkdir(parents=True, exist_ok=True)
    target = out / path.name
    temporary = target.with_name(f".{target.name}.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, target)
    print(f"{path}: {len(notebook.cells)} cells, {figures} figures -> {target}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed copies")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    if not (args.warehouse / "consensus_entries").is_dir():
        print(f"run_notebooks: {args.warehouse} has no consensus_entries: run `make demo` (or import) first",
              file=sys.stderr)
        return 2
    failed = 0
    for path in args.notebooks:
        started = time.monotonic()
        problems = run(path, args.warehouse, args.out, args.timeout)
        print(f"  {'FAILED' if problems else 'ok'} in {time.monotonic() - started:.1f} s")
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
