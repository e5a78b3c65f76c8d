"""docs/example.ipynb runs top to bottom and prints the same numbers as the analysis API."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def test_example_notebook_executes():
    import sys

    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "docs" / "example.ipynb", as_version=4)
    ksm = KernelSpecManager()
    specs = ksm.find_kernel_specs()
    if "python3" not in specs:
        pytest.fail("no python3 kernel spec: ipykernel is part of the test dependencies")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}})
    client.execute()
    text = "\n".join(
        "".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "FRB10-BMR80-S: sigma(25 C) = 13.3" in text or "FRB10-BMR80-S: sigma(25 C) = 13.2" in text
    assert "Lin-KK passed: True" in text
    assert "peak 470.6 mAh/g at cycle 62" in text
    last = nb.cells[-1]
    assert any("application/vnd.holoviews_exec.v0+json" in o.get("data", {}) or "text/html" in o.get("data", {})
               for o in last.outputs), "the page did not render inline"
    assert sys.executable  # the kernel is this venv's python (ipykernel installed in it)
