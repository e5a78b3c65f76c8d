"""Fuzzing: mutated real instrument files give a dataset or a ReadError, never another exception."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import io as sio


def reference_dir() -> Path:
    """Reference-data folder (SSB_REFERENCE_DATA, default ../shared/reference_data), as in tests/conftest.py."""
    repo = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("SSB_REFERENCE_DATA", repo.parent / "shared" / "reference_data"))

SEEDS = [
    "eis/impedancepy_exampleData.csv",
    "eis/impedancepy_exampleDataBioLogic.mpt",
    "eis/impedancepy_exampleDataGamry.DTA",
    "eis/impedancepy_exampleDataZPlot.z",
    "eis/impedancepy_exampleDataAutolab.txt",
    "eis/impedancepy_exampleDataParstat.txt",
    "eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr",
    "eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt",
    "eis/pyDRTtools_synthetic_2ZARC0.csv",
    "cycling/neware_NewareNDA_Issue94_Unit27_Example.ndax",
    "cycling/arbin_beep_2017-05-09_test-TC-contact_CH33.csv",
    "cycling/biologic_pyprobe_Sample_data_biologic_no_header.mpt",
]


def _seeds() -> list[tuple[str, bytes]]:
    out = []
    for rel in SEEDS:
        p = reference_dir() / rel
        if p.is_file():
            out.append((os.path.basename(rel), p.read_bytes()))
    return out


SEED_DATA = _seeds()

mutation = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                                        min_size=1, max_size=20)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=64))),
    st.tuples(st.just("delete"), st.tuples(st.floats(0, 1), st.integers(1, 500))),
)


def mutate(data: bytes, m) -> bytes:
    kind, arg = m
    b = bytearray(data)
    if kind == "flip":
        for pos, val in arg:
            b[int(pos * len(b))] = val
    elif kind == "truncate":
        b = b[: int(arg * len(b))]
    elif kind == "insert":
        pos, ins = arg
        i = int(pos * len(b))
        b[i:i] = ins
    else:
        pos, n = arg
        i = int(pos * len(b))
        del b[i:i + n]
    return bytes(b)


@pytest.mark.skipif(not SEED_DATA, reason="reference data not found (set SSB_REFERENCE_DATA)")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(idx=st.integers(0, max(len(SEED_DATA) - 1, 0)), m=mutation)
def test_mutated_files_only_raise_read_error(tmp_path_factory, idx, m):
    name, data = SEED_DATA[idx]
    p = tmp_path_factory.mktemp("fuzz") / name
    p.write_bytes(mutate(data, m))
    try:
        ds = sio.read(p)
    except sio.ReadError as exc:
        assert str(exc).startswith(name + ":")
    else:
        assert ds.attrs["kind"] in ("eis", "cycling", "pressure_log")
