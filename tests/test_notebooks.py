"""The data scientists' notebooks run top to bottom on the tiny city (kernel from this venv)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from tests.run_fixtures import register_url_of, tiny_run  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT_S = 900


def _kernel_python() -> str:
    """The interpreter the notebooks' kernel starts with (``python`` means this one)."""
    spec = KernelSpecManager().get_kernel_spec("python3")
    return sys.executable if spec.argv[0] in ("python", "python3") else spec.argv[0]


def execute(name: str, run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` in a fresh kernel started in ``notebooks/`` on ``run_dir``."""
    monkeypatch.setenv("RUN_DIR", str(run_dir))
    monkeypatch.setenv("REGISTER_URL", register_url_of(run_dir))
    # The package is importable in the kernel as after `make setup` (editable install) even
    # when only the source tree is there.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    )
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    return client.execute()


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    ]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


def test_the_kernel_runs_this_venv():
    assert Path(_kernel_python()).resolve().parent == Path(sys.executable).resolve().parent


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["01_case_network.ipynb", "02_escalation_model.ipynb", "03_disparity_and_errors.ipynb"]
)
def test_notebook_runs_on_the_tiny_city(name: str, tiny_run: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    executed = execute(name, tiny_run, monkeypatch)
    outputs = _outputs(executed)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(o.get("output_type") == "execute_result" for o in outputs)
    if name.startswith("01"):  # the ego network is drawn with plotly
        assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)


@pytest.mark.neo4j
@pytest.mark.slow
def test_neo4j_notebook_runs_against_the_server(
    tiny_run: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    neo4j_driver,
):
    executed = execute("04_neo4j_cypher.ipynb", tiny_run, monkeypatch)
    outputs = _outputs(executed)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    frames = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(frames) >= 5  # every Cypher cell returned a DataFrame
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (d:Dispute) WHERE d.probability IS NOT NULL RETURN count(d) AS n"
    )
    assert records[0]["n"] > 0
