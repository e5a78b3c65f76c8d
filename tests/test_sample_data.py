"""Sample data: regenerable byte for byte, small, synthetic, and it gives the papers' numbers
when analysed with the project's own code (studies S1-S5 of DOMAIN.md)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

import sample_data
from sample_data.generate import S3_TABLE_S4, write_all


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


_WRITER = "_NCProperties"  # h5netcdf's record of the writing library versions (h5netcdf, HDF5, h5py)


def _h5_items(path):
    """Every group and variable of an HDF5 file with its attributes, storage settings and raw values
    (everything but the writer-version attribute), in file order."""
    import h5py

    out = []

    def named(x, f):  # HDF5 references (dimension lists and scales) by the name they point to
        if isinstance(x, h5py.Reference):
            return f[x].name
        if isinstance(x, (tuple, list)):
            return [named(y, f) for y in x]
        return x

    def value(v, f):
        a = np.asarray(v)
        if a.dtype.kind != "O" and a.dtype.fields is None:
            return a.dtype.str, a.shape, a.tobytes()
        return a.dtype.kind, a.shape, repr(named(a.tolist(), f))

    def attrs(obj):
        return [(k, value(v, obj.file)) for k, v in sorted(obj.attrs.items()) if k != _WRITER]

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out.append((name, "var", obj.dtype.str, obj.shape, obj.chunks, obj.compression,
                        obj.compression_opts, obj.shuffle, attrs(obj), value(obj[()], obj.file)))
        else:
            out.append((name, "group", attrs(obj)))

    with h5py.File(path, "r") as f:
        out.append(("/", "group", attrs(f)))
        f.visititems(visit)
    return out


def _writer(path):
    import h5py

    with h5py.File(path, "r") as f:
        v = f.attrs.get(_WRITER, b"")
    return v.decode() if isinstance(v, bytes) else str(v)


def test_regeneration_is_byte_identical(tmp_path):
    """Regenerated files hold the committed values, attributes and storage settings exactly; with the
    same writer versions (h5netcdf, HDF5, h5py) they are the same bytes. A new h5netcdf release changes
    only the version string that h5netcdf stores in every file (and so the bytes), not the content."""
    written = write_all(tmp_path)
    committed = {p.name: p for p in sample_data.HERE.glob("*.nc")}
    assert {p.name for p in written} == set(committed), "committed files differ from the generated set"
    for p in written:
        assert _h5_items(p) == _h5_items(committed[p.name]), f"{p.name} does not regenerate identically"
        if _writer(p) == _writer(committed[p.name]):
            assert _sha(p) == _sha(committed[p.name]), f"{p.name} does not regenerate byte for byte"


def test_regeneration_check_sees_a_changed_value(tmp_path):
    """The content comparison above fails on a one-ulp change of one stored value."""
    import shutil

    import h5py

    src = sample_data.HERE / "s5_dc_polarisation.nc"
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        name = next(k for k, v in f.items() if isinstance(v, h5py.Dataset) and v.dtype.kind == "f" and v.size > 1)
        vals = f[name][()]
        vals.flat[0] = np.nextafter(vals.flat[0], np.inf)
        f[name][...] = vals
    assert _h5_items(dst) != _h5_items(src)


def test_total_size_and_labels():
    total = sum(p.stat().st_size for p in sample_data.HERE.glob("*.nc"))
    assert total <= 30e6
    for name in sample_data.names():
        ds = sample_data.load(name)
        assert ds.attrs["synthetic"] == "true" and "SYNTHETIC" in ds.attrs["title"]


def test_load_unknown_name_is_clear():
    with pytest.raises(KeyError, match="no sample dataset"):
        sample_data.load("nope")


# ------------------------------------------------------------------------------ S1 and S5
@pytest.fixture(scope="module")
def s1():
    from analysis.pellets import arrhenius_table, conductivity_table

    ds = sample_data.load("s1_lpscb_pellets")
    cond = conductivity_table(ds, ds.attrs["circuit"])
    return ds, arrhenius_table(cond, form=ds.attrs["arrhenius_form"])


def _sid(ds, **kw):
    from analysis.pellets import select_sample

    return select_sample(ds, **kw)


def test_s1_optimum(s1):
    ds, arr = s1
    sid = _sid(ds, frb_pct=10, bmr=80, state="sintered", mass_mg=100)
    a = arr.sel(sample=sid)
    assert float(a.sigma_25C) * 1e3 == pytest.approx(13.3, abs=0.3)
    assert float(a.Ea) == pytest.approx(0.28, abs=0.01)
    # the optimum is the best sintered 100 mg pellet
    s = arr.where((ds.state == "sintered") & (ds.mass_mg == 100), drop=True)
    assert str(s.sample.values[int(np.nanargmax(s.sigma_25C.values))]) == sid


def test_s1_frb_and_bmr_trends(s1):
    ds, arr = s1
    sig = lambda **kw: float(arr.sel(sample=_sid(ds, **kw)).sigma_25C) * 1e3  # noqa: E731
    ea = lambda **kw: float(arr.sel(sample=_sid(ds, **kw)).Ea)  # noqa: E731
    am = [sig(frb_pct=f, bmr=40, state="as-milled") for f in (5, 10, 20)]
    assert np.argmax(am) == 1 and am[1] == pytest.approx(3.5, abs=0.15)
    ea_am = [ea(frb_pct=f, bmr=40, state="as-milled") for f in (5, 10, 20)]
    assert max(ea_am) - min(ea_am) == pytest.approx(0.02, abs=0.006)
    sint = [sig(frb_pct=f, bmr=40, state="sintered") for f in (5, 10, 20)]
    assert min(sint) > 10 and np.argmax(sint) == 1
    ea_s = [ea(frb_pct=f, bmr=40, state="sintered") for f in (5, 10, 20)]
    assert ea_s[0] == pytest.approx(0.27, abs=0.01)
    assert ea_s[2] / ea_s[0] == pytest.approx(1.272, abs=0.03)
    assert not (np.all(np.diff(ea_s) > 0) or np.all(np.diff(ea_s) < 0)), "Ea must be non-monotonic in FRB"
    for state in ("as-milled", "sintered"):  # higher BMR -> higher sigma, lower Ea
        s = [sig(frb_pct=10, bmr=b, state=state, mass_mg=100) for b in (20, 40, 80)]
        e = [ea(frb_pct=10, bmr=b, state=state, mass_mg=100) for b in (20, 40, 80)]
        assert np.all(np.diff(s) > 0) and np.all(np.diff(e) < 0)
    for m in (100, 150, 200):
        assert 13.0 <= sig(frb_pct=10, bmr=80, state="sintered", mass_mg=m) <= 14.2
        assert 0.27 <= ea(frb_pct=10, bmr=80, state="sintered", mass_mg=m) <= 0.31
    vol = ds.unit_cell_volume_A3
    frb_v = [float(vol.sel(sample=_sid(ds, frb_pct=f, bmr=40, state="sintered"))) for f in (5, 10, 20)]
    assert np.argmax(frb_v) == 1
    bmr_v = [float(vol.sel(sample=_sid(ds, frb_pct=10, bmr=b, state="sintered", mass_mg=100))) for b in (20, 40, 80)]
    assert np.all(np.diff(bmr_v) < 0)


def test_s5_volcano():
    from analysis.pellets import arrhenius_table, conductivity_table

    ds = sample_data.load("s5_halide_pellets")
    arr = arrhenius_table(conductivity_table(ds, ds.attrs["circuit"]), form="sigmaT")
    x = ds.nb_x.values
    s = arr.sigma_25C.values * 1e3
    i = int(np.argmax(s))
    assert x[i] == pytest.approx(0.2)
    assert s[i] == pytest.approx(1.03, abs=0.03)
    assert float(arr.Ea[i]) == pytest.approx(0.327, abs=0.01)
    assert np.all(np.diff(s[: i + 1]) > 0) and np.all(np.diff(s[i:]) < 0)
    assert s[i] / s[0] == pytest.approx(2.0, abs=0.1)  # about twice pristine


def test_s5_electronic_conductivity():
    from analysis.transport import electronic_conductivity

    ds = sample_data.load("s5_dc_polarisation")
    got = {}
    for sid in ds.sample.values:
        d = ds.sel(sample=sid)
        r = electronic_conductivity(d.voltage.values, d.current_ss.values, float(d.thickness_cm), float(d.area_cm2))
        got[float(d.nb_x)] = r.sigma_S_cm
    assert got[0.0] == pytest.approx(8.11e-9, rel=0.03)
    assert got[0.2] == pytest.approx(1.09e-9, rel=0.03)


# ------------------------------------------------------------------------------------ S3
def test_s3_g_force_table():
    from analysis.milling import g_force

    table = {550: 30, 600: 36, 650: 42, 700: 49, 750: 56, 800: 64}
    for rpm, gf in table.items():
        assert round(float(g_force(rpm, 0.089))) == gf


def test_s3_table_s4_resistances():
    from analysis.eis import fit_many

    ds = sample_data.load("s3_nmc811_insitu_eis")
    fit = fit_many(ds, ds.attrs["circuit"], bounds={f"CPE{i}_n": (0.5, 1.0) for i in (1, 2, 3)})
    assert bool(fit.success.all())
    for p, col in zip(("R0", "R1", "R2", "R3"), ("R_bulk", "R_i1", "R_i2", "R_i3")):
        got = fit[p].values.ravel()
        err = fit[f"{p}_stderr"].values.ravel()
        want = np.asarray(S3_TABLE_S4[col])
        assert np.all(np.abs(got - want) <= 3 * err), (p, got, want, err)
        assert np.all(np.abs(got - want) / want < 0.03), (p, got, want)
    for p in ("CPE1_n", "CPE2_n", "CPE3_n"):
        assert np.all((fit[p] >= 0.5) & (fit[p] <= 1.0))


# ------------------------------------------------------------------------------------ S2
def _summary(name):
    from analysis.cycling import summarize

    # retention relative to the maximum after the first (formation) cycle, as the paper quotes it
    return summarize(sample_data.load(name), reference="max_after_first")


def test_s2_conventional_cell():
    s = _summary("s2_lts_conventional")
    d = s.discharge_capacity_specific
    assert int(s.cycle.values[int(np.argmax(d.values))]) == 62
    assert float(d.max()) == pytest.approx(470.6, abs=0.5)
    assert float(d.sel(cycle=1)) == pytest.approx(380.6, abs=0.5)
    assert float(s.coulombic_efficiency.sel(cycle=1)) == pytest.approx(112.0, abs=0.2)
    assert float(s.coulombic_efficiency.sel(cycle=10)) == pytest.approx(100.3, abs=0.1)
    assert float(s.retention.sel(cycle=200)) == pytest.approx(96.22, abs=0.1)
    pol = s.polarisation  # mean charge V - mean discharge V
    assert float(pol.sel(cycle=1)) == pytest.approx(0.09, abs=0.003)
    assert float(pol.sel(cycle=100)) == pytest.approx(0.10, abs=0.003)


def test_s2_high_loading_cell():
    s = _summary("s2_lts_highloading")
    assert float(s.coulombic_efficiency.sel(cycle=1)) == pytest.approx(113.8, abs=0.2)
    assert float(s.discharge_capacity_specific.sel(cycle=1)) == pytest.approx(384.4, abs=0.5)
    assert float(s.discharge_capacity_specific.sel(cycle=200)) == pytest.approx(314.5, abs=0.5)
    assert float(s.retention.sel(cycle=200)) == pytest.approx(90.3, abs=0.15)
    assert float(s.retention.sel(cycle=400)) == pytest.approx(67.2, abs=0.15)
    assert float(s.coulombic_efficiency.sel(cycle=300)) == pytest.approx(99.8, abs=0.1)


def test_s2_rate_capability():
    from analysis.cycling import summarize

    s = summarize(sample_data.load("s2_lts_rate"))
    d = s.discharge_capacity_specific.values
    for block, want in enumerate((483.1, 412.7, 263.6, 451.2)):
        assert np.median(d[block * 5:(block + 1) * 5]) == pytest.approx(want, abs=0.5)


@pytest.mark.parametrize("name, growth", [("s2_lts_conventional", 2.1), ("s2_lts_highloading", 3.6)])
def test_s2_pressure_growth(name, growth):
    from analysis.pressure import align, per_cycle

    cell = sample_data.load(name)
    log = sample_data.load(f"{name}_pressure")
    pc = per_cycle(align(cell, log))
    assert float(pc.growth_pct.max()) == pytest.approx(growth, abs=0.1)  # at end of discharge
    assert float(pc.breathing.median()) > 0


def test_s2_dqdv_peaks_shift_lower_with_cycling():
    from analysis.dqdv import dqdv_cycles, track_peaks

    ds = sample_data.load("s2_lts_highloading")
    cyc = [2, 100, 200, 300, 400]
    ox = track_peaks(dqdv_cycles(ds, cyc, direction="charge"), windows=[(1.8, 2.4)])
    red = track_peaks(dqdv_cycles(ds, cyc, direction="discharge"), windows=[(1.4, 1.8)])
    for tr in (ox, red):
        pos = tr.position.values.ravel()
        h = tr.height.values.ravel()
        assert np.all(np.diff(pos) < 0), pos
        assert h[-1] < h[0]


def test_s1_structure_property_model(s1):
    """Issue 9 check: LOO prediction of the optimum within its own 2-sigma band; monotone in BMR."""
    from analysis.pellets import property_model, training_mask

    ds, arr = s1
    model = property_model(ds, arr, "sigma_25C", state="sintered")
    loo = model.loo()
    ids = ds.sample.values[training_mask(ds, "sintered")]
    i = list(ids).index(_sid(ds, frb_pct=10, bmr=80, state="sintered", mass_mg=100))
    assert abs(loo.y[i] - loo.mean[i]) <= 2 * loo.std[i]
    rep = model.monotonicity("bmr", at={"frb_pct": 10})
    assert rep.monotone and rep.direction == rep.data_direction == "increasing"
    ea = property_model(ds, arr, "Ea", state="sintered")
    assert ea.loo().fraction_within_2sigma >= 0.8
