"""Each lab's companion notebook (labs/notebooks/<lab>.py, jupytext percent format) runs top to
bottom in a real Jupyter kernel, as an attendee would run it, at quick sizes."""

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "labs" / "notebooks").glob("*.py"))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(source, tmp_path, monkeypatch):
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(source)
    assert sum(cell.cell_type == "code" for cell in notebook.cells) >= 3, "a notebook with something to run"
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(source.parents[2]), os.environ.get("PYTHONPATH", "")]))
    # a cell that hangs is interrupted (KeyboardInterrupt), so the failure shows where it hung and
    # the cell's own `finally` (yr.finalize(), unmounts) still runs inside the test's time limit
    client = NotebookClient(notebook, timeout=180, kernel_name="python3", interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "the notebook shows its figures inline"


def test_every_lab_has_its_notebook():
    assert sorted(p.stem for p in NOTEBOOKS) == ["copilot", "llm-la", "trio", "yuanrong"]
