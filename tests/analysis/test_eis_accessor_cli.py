"""ds.eis accessor, the studies' sample data, and the fit / kk commands."""
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import analysis  # noqa: F401  (registers ds.eis)
from analysis.cli import main
from analysis.eis import Circuit, FitResult, KKResult
from analysis.transport import fit_arrhenius
from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]
F = np.logspace(6, -1, 50)


def _sample(name):
    p = REPO / "sample_data" / f"{name}.nc"
    require(p.is_file(), f"sample data {p} not found (python -m sample_data)")
    return xr.open_dataset(p)


def _eis_ds(Z, **coords):
    return xr.Dataset({"z_real": (("frequency",), Z.real), "z_imag": (("frequency",), Z.imag)},
                      coords={"frequency": F, **coords})


def test_accessor_single_spectrum():
    c = Circuit("R0-p(R1,CPE1)")
    ds = _eis_ds(c.impedance(F, [10, 100, 1e-6, 0.85]), thickness_cm=0.1, area_cm2=0.5)
    z = ds.eis.impedance()
    assert np.iscomplexobj(z.values) and z.attrs["units"] == "ohm"
    r = ds.eis.fit("R0-p(R1,CPE1)")
    assert isinstance(r, FitResult) and r.params["R1"] == pytest.approx(100, rel=1e-6)
    assert isinstance(ds.eis.kk(), KKResult)
    s = ds.eis.conductivity("R0-p(R1,CPE1)")  # R0 + R1
    assert float(s) == pytest.approx(0.1 / (110 * 0.5), rel=1e-6)
    s0 = ds.eis.conductivity("R0-p(R1,CPE1)", resistance="R0")
    assert float(s0) == pytest.approx(0.1 / (10 * 0.5), rel=1e-6)


def test_accessor_errors():
    ds = xr.Dataset({"z_real": (("frequency",), np.ones(3))}, coords={"frequency": [3.0, 2.0, 1.0]})
    with pytest.raises(Exception, match="z_imag"):
        ds.eis.impedance()
    c = Circuit("R0-CPE1")
    with pytest.raises(Exception, match="thickness_cm"):
        _eis_ds(c.impedance(F, [10, 1e-6, 0.9])).eis.conductivity()


def test_s1_pellets_conductivity_and_activation_energy():
    """S1: sintered 10 % FRB + 80:1 BMR 13.3 mS/cm, 0.28 eV; as-milled 10 % FRB 3.5 mS/cm;
    sintered 5 % FRB 0.27 eV (sigma*T form, high-frequency intercept of the spike)."""
    ds = _sample("s1_lpscb_pellets")
    sigma = ds.eis.conductivity()
    assert sigma.dims == ("sample", "temperature") and sigma.attrs["units"] == "S/cm"
    T = ds["temperature"].values

    def arr(name):
        return fit_arrhenius(T, sigma.sel(sample=name).values, form="sigmaT")

    best = arr("FRB10-BMR80-S")
    assert best.sigma_25C * 1e3 == pytest.approx(13.3, rel=0.03)
    assert best.Ea_eV == pytest.approx(0.28, abs=0.01)
    assert arr("FRB10-BMR40-AM").sigma_25C * 1e3 == pytest.approx(3.5, rel=0.05)
    assert arr("FRB05-BMR40-S").Ea_eV == pytest.approx(0.27, abs=0.01)
    assert arr("FRB20-BMR40-S").Ea_eV == pytest.approx(0.27 * 1.272, abs=0.01)


def test_s5_halide_pellets():
    """S5: x = 0.2 gives 1.03 mS/cm and Ea 0.327 eV, the top of the volcano."""
    ds = _sample("s5_halide_pellets")
    sigma = ds.eis.conductivity()
    T = ds["temperature"].values
    fits = [fit_arrhenius(T, sigma.isel(sample=i).values) for i in range(ds.sizes["sample"])]
    s25 = np.array([f.sigma_25C for f in fits])
    i02 = list(ds["sample"].values).index("LZNC-x0.2")
    assert int(np.argmax(s25)) == i02
    assert s25[i02] * 1e3 == pytest.approx(1.03, rel=0.03)
    assert fits[i02].Ea_eV == pytest.approx(0.327, abs=0.01)


def test_s3_cell_table_s4_resistances():
    ds = _sample("s3_nmc811_insitu_eis")
    res = ds.eis.fit(ds.attrs["circuit"], bounds={f"CPE{k}_n": (0.5, 1.0) for k in (1, 2, 3)})
    assert bool(res["success"].all())
    for var, key in (("R0", "bulk"), ("R1", "i1"), ("R2", "i2"), ("R3", "i3")):
        want = np.asarray(ds.attrs[f"table_s4_R_{key}_ohm"])
        np.testing.assert_allclose(res[var].values.ravel(), want, rtol=0.05, err_msg=var)


def _write_csv(tmp_path, Z, name="spec.csv"):
    p = tmp_path / name
    np.savetxt(p, np.c_[F, Z.real, Z.imag], delimiter=",")
    return p


def test_cli_fit_json_and_table(tmp_path, capsys):
    c = Circuit("R0-p(R1,CPE1)-W1")
    p = _write_csv(tmp_path, c.impedance(F, [10, 100, 1e-6, 0.85, 30]))
    assert main(["fit", str(p), "--circuit", "R0-p(R1,CPE1)-W1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["success"] and out["params"]["R1"] == pytest.approx(100, rel=1e-5)
    assert main(["fit", str(p), "-c", "R0-p(R1,CPE1)-W1", "--fix", "CPE1_n=0.85", "--p0", "R1=80"]) == 0
    text = capsys.readouterr().out
    assert "R1" in text and "(fixed)" in text


def test_cli_errors_are_one_sentence(tmp_path, capsys):
    c = Circuit("R0-p(R1,C1)")
    p = _write_csv(tmp_path, c.impedance(F, [1, 2, 1e-4]))
    assert main(["fit", str(p), "--circuit", "R0-p(R1,X1)"]) == 1
    assert "unknown element" in capsys.readouterr().err
    assert main(["fit", str(p), "--circuit", "R0-p(R1,C1)", "--fix", "Q=1"]) == 1
    assert "unknown parameter" in capsys.readouterr().err


def test_cli_kk(tmp_path, capsys):
    c = Circuit("R0-p(R1-W1,C1)")
    p = _write_csv(tmp_path, c.impedance(F, [10, 100, 30, 1e-5]))
    assert main(["kk", str(p), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] and out["threshold"] == 0.01


def test_cli_on_a_real_file(ref_file, capsys):
    path = ref_file("eis/impedancepy_exampleData.csv")
    rc = main(["fit", str(path), "-c", "R0-p(R1,C1)-p(R2-Wo1,C2)", "--drop-inductive", "--weighting", "unity",
               "--p0", "R0=.01,R1=.01,C1=100,R2=.01,Wo1_R=.05,Wo1_tau=100,C2=1", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_points"] == 57
    assert out["params"]["R1"] == pytest.approx(8.68e-3, rel=0.01)
