"""The notebooks run top to bottom (small settings: COLORGAN_NB_SMALL=1) and are stored without
outputs. Each one runs in a fresh Jupyter kernel of this Python, outputs under tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (dev extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (dev extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (dev extra)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {  # files each notebook must have made, under COLORGAN_NB_OUT/<name>/
    "01_quickstart": ["run/checkpoints/last.ckpt", "run/csv/metrics.csv"],
    "02_compare_models": ["sweep/report.csv", "report.md", "report.png"],
    "03_films": ["independent.mp4", "smooth.mp4", "dependent.mp4"],
}
PICTURES = {  # pictures each must show at least (without ../shared/data)
    "01_quickstart": 3,      # scenes, loss curves, sample grid (+ one per real photo)
    "02_compare_models": 2,  # PSNR-colorfulness plot, grid of each job's colorizations
    "03_films": 2,           # frames side by side, flicker with the cuts
}


def test_the_three_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == sorted(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: outputs are stored; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COLORGAN_NB_SMALL", "1")
    monkeypatch.setenv("COLORGAN_NB_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for var in ("COLORGAN_SWEEP_DIR", "COLORGAN_NB_CKPT", "COLORGAN_NB_CKPT_DEPENDENT"):
        monkeypatch.delenv(var, raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()  # raises CellExecutionError with the cell and traceback on any error
    out = tmp_path / path.stem
    for rel in EXPECTED[path.stem]:
        assert (out / rel).is_file(), f"{path.name} did not write {rel}"
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= PICTURES[path.stem], f"{path.name} showed only {images} pictures"
