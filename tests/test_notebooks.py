"""The teaching notebooks in docs/notebooks run top to bottom (nbclient, a real kernel), so
they never rot; each holds its own checks (asserts against the engine)."""

import pathlib

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "docs" / "notebooks")
                   .glob("*.ipynb"))


def test_the_teaching_path_is_there():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01-colah", "02-micrograd-neuron", "03-mlp-by-hand",
                     "04-forward-or-reverse", "05-exercises"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient  # the dev extra, installed by `make test`

    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    if path.stem == "01-colah":  # the graph shows itself as the interactive page
        html = [o["data"]["text/html"] for c in book.cells if c.cell_type == "code"
                for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
        assert any(h.startswith('<div class="crx" id="crx-') for h in html)
        assert any("<table>" in h for h in html)  # and a sweep as a table
