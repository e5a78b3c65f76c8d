"""rhd instruments RelaxIS spectrum exports (``RelaxIS 3.0 Spectrum export``).

Layout: title, date, a ``Data: ...`` header (Frequency, Z', Z'', |Z|, Theta), then for every
spectrum one description line followed by its rows; several spectra become a ``loop`` dim.
"""
from __future__ import annotations

import xarray as xr

from analysis.io._common import ReadError, make_eis, parse_table, stack_spectra
from analysis.io.generic import _is_num, split_line


def read_relaxis(path, text: str, *, sha256: str | None = None, **_ignored) -> xr.Dataset:
    """Read a RelaxIS export.

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.

    Returns
    -------
    xarray.Dataset
        Kind ``eis``; spectrum descriptions in the ``spectra`` attribute.
    """
    lines = text.splitlines()
    hdr = next((i for i, ln in enumerate(lines[:20]) if ln.startswith("Data:")), None)
    if hdr is None:
        raise ReadError(path, "no 'Data:' column header: not a RelaxIS export")
    names = [n.replace("Data:", "").strip() for n in lines[hdr].split("\t")]
    if len(names) < 3 or not names[0].lower().startswith("freq"):
        raise ReadError(path, f"unexpected RelaxIS columns {names}", hdr + 1)
    blocks: list[tuple[str, int, list[str]]] = []
    for i in range(hdr + 1, len(lines)):
        ln = lines[i]
        if not ln.strip():
            continue
        toks = split_line(ln, "\t")
        if toks and all(_is_num(t) for t in toks[:3]):
            if not blocks:
                blocks.append(("", i, []))
            blocks[-1][2].append(ln)
        else:
            blocks.append((ln.split("\t")[0].strip(), i + 1, []))
    blocks = [b for b in blocks if b[2]]
    if not blocks:
        raise ReadError(path, "no data rows in the RelaxIS export", hdr + 2)
    spectra, labels = [], []
    for k, (desc, start, rows) in enumerate(blocks):
        values, nums = parse_table(path, rows, start + 1, "\t", 3)
        spectra.append(make_eis(path, values[:, 0], values[:, 1], values[:, 2], reader="relaxis-txt", lines=nums,
                                sha256=sha256, attrs={"instrument": "RelaxIS", "spectrum_description": desc},
                                columns={"frequency": names[0], "z_real": names[1], "z_imag": names[2]}))
        labels.append(k)
    ds = stack_spectra(path, spectra, "loop", labels)
    if len(spectra) > 1:
        ds.attrs["spectra"] = [d for d, _s, _r in blocks]
        ds.attrs.pop("spectrum_description", None)
    return ds
