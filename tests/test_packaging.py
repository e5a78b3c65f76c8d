"""Packaging: dependency lists agree, the console script exists, SciPy's savgol is sane."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml  # noqa: F401  (pyyaml comes with bokeh/panel)

REPO = Path(__file__).resolve().parents[1]

# conda-forge splits dask[distributed] into two packages
CONDA_ALIASES = {"dask[distributed]": {"dask", "distributed"}}


def _name(req: str) -> str:
    return re.split(r"[<>=!~; ]", req, maxsplit=1)[0].strip().lower()


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_mirrors_pyproject():

    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            conda.add(_name(dep))
    listed = conda | pip
    wanted = set()
    for req in _pyproject()["project"]["dependencies"]:
        n = _name(req)
        wanted |= CONDA_ALIASES.get(n, {n})
    missing = wanted - listed
    extra = listed - wanted - {"python", "pip"}
    assert not missing, f"environment.yml lacks runtime packages of pyproject.toml: {sorted(missing)}"
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {sorted(extra)}"


def test_scipy_1_17_excluded_in_both_files():
    deps = _pyproject()["project"]["dependencies"]
    scipy_req = next(d for d in deps if _name(d) == "scipy")
    assert "!=1.17.*" in scipy_req
    assert "!=1.17.*" in (REPO / "environment.yml").read_text()


def test_installed_scipy_savgol_regression():
    """scipy issue 25133: savgol_coeffs(1001, 5) summed to ~3.5e-10 on 1.17.x instead of 1."""
    import scipy
    from scipy.signal import savgol_coeffs

    assert not scipy.__version__.startswith("1.17."), f"SciPy {scipy.__version__} is excluded (issue 25133)"
    assert np.isclose(savgol_coeffs(1001, 5).sum(), 1.0, atol=1e-8)
    assert np.isclose(savgol_coeffs(21, 3).sum(), 1.0, atol=1e-12)


def test_console_script_and_packages():
    proj = _pyproject()["project"]
    assert proj["name"] == "ssb-explorer"
    assert proj["scripts"]["ssb-explorer"] == "analysis.cli:main"
    import analysis
    import dashboard  # noqa: F401

    assert analysis.__version__ == proj["version"]


def test_cli_help_lists_serve(capsys):
    from analysis.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "serve" in out


def test_layout_files_exist():
    for p in ("pyproject.toml", "environment.yml", "README.md", "Makefile", ".ci/run",
              "analysis", "dashboard", "sample_data", "tests", "benchmarks", "docs"):
        assert (REPO / p).exists(), p
    ci = (REPO / ".ci/run").read_text()
    assert "make test" in ci and "chromium" in ci
    readme = (REPO / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme


def test_bootstrap_picks_a_python_that_runs(tmp_path):
    """The bootstrap's interpreter choice must execute candidates, not trust pyenv shims."""
    import subprocess

    script = (REPO / "tools/bootstrap.sh").read_text()
    assert "runs()" in script and "import sys" in script
    # run only the picking function
    snippet = script.split("if [ ! -x")[0].replace('cd "$here"', "").replace("exit 0", "true")
    snippet = re.sub(r"want_hash=.*\n", "", snippet)
    out = subprocess.run(["bash", "-c", snippet + "\npick_python"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    py = out.stdout.strip().splitlines()[-1]
    ver = subprocess.run([py, "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
                         capture_output=True, text=True)
    assert ver.stdout.strip() == "True"


def test_make_bench_runs_every_benchmark_script():
    """``make bench`` runs ``benchmarks.run_all``, which must exist and list every benchmark script."""
    makefile = (REPO / "Makefile").read_text()
    assert "-m benchmarks.run_all" in makefile
    from benchmarks import run_all

    scripts = {p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all"}
    assert scripts == {n for n, _ in run_all.BENCHMARKS}
    with pytest.raises(SystemExit):
        run_all.main(["--only", "no_such_benchmark"])
