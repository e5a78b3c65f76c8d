"""Data page: upload instrument files into the project store, browse it, edit cell metadata, export.

Without a store (``ssb-explorer serve`` on the sample data) the page lists the built-in SYNTHETIC
sample datasets (kind, study, what each mimics) and lets the user download them. With a store
(``ssb-explorer serve --store DIR``) it adds:

* a drop zone (several files at once, :class:`ChunkedDropper`) whose files arrive in chunks
  written straight to disk by :class:`dashboard.uploads.ChunkedUpload` (size limit and quota
  checked as the bytes arrive, name sanitising, content sniffing, validated import; the same checks
  as :func:`dashboard.uploads.save_upload`, used by :meth:`DataPage.import_files`), with one result
  per file: the kind, rows and reader of an accepted file, or the one-sentence reason a file was
  refused;
* the store's catalog as a table (selecting a row selects the dataset);
* a metadata editor for cycling datasets (active mass, active fraction, area, loading),
  validated and saved to the catalog with :meth:`analysis.store.Store.update_metadata`.

For impedance datasets (sample or store) a **batch job** card runs the DRT of every spectrum
(:func:`analysis.drt.drt_many`) or refits every spectrum with the circuit
(:func:`analysis.eis.fit_many`) on the server's Dask cluster (:func:`dashboard.jobs.submit_batch`:
off the server process, so other users' sliders stay responsive), with a progress bar and a Cancel
button; the result is cached in the store (the next user asking for the same batch gets it at
once) and offered as NetCDF.

Downloads of the selected dataset (NetCDF, CSV), of its fit tables (CSV, computed through
:mod:`analysis`) and of its overview figure (HTML, PNG, SVG: see :mod:`dashboard.export`).
"""
from __future__ import annotations

import io
import json
import logging
import math
import os
import re
from functools import lru_cache

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from analysis.errors import SSBError
from dashboard import data, export, theme

log = logging.getLogger(__name__)

STORE_PREFIX = data.STORE_PREFIX

#: Editable cell metadata: parameter -> (label, unit, upper bound or None).
CELL_FIELDS = {
    "active_mass_mg": ("Active mass", "mg", None),
    "active_fraction": ("Active fraction", "", 1.0),
    "area_cm2": ("Electrode area", "cm²", None),
    "loading_mg_cm2": ("Loading", "mg/cm²", None),
}

#: batch jobs offered for impedance datasets: label -> key (see :meth:`DataPage.run_batch`)
BATCH_ACTIONS = {"DRT of every spectrum (λ automatic, GCV)": "drt",
                 "Refit every spectrum with the circuit": "fit"}
EIS_KINDS = ("eis", "insitu_eis", "pellet_eis")
DEFAULT_BATCH_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-W1"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Escape Markdown/HTML specials so file names and error sentences show literally."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _tidy(msg: str) -> str:
    """Drop a repeated file-name prefix ("x.mpt: not imported: x.mpt: reason")."""
    m = re.match(r"^(.+?): not imported: \1: (.*)$", msg, flags=re.S)
    return f"{m.group(1)}: not imported: {m.group(2)}" if m else msg


def _current_user() -> str:
    """The uploading user: ``pn.state.user`` in a session with logins, else ``"local"``."""
    try:
        return pn.state.user or "local"
    except Exception:  # noqa: BLE001 - outside a session
        return "local"


def _session_store_dir() -> tuple[str | None, str | None]:
    """(store folder of this session or None, error sentence or None)."""
    try:
        from dashboard.access import session_store

        p = session_store()
        return (str(p) if p is not None else None), None
    except SSBError as exc:
        return None, str(exc)
    except Exception:  # noqa: BLE001 - access rules unavailable: the plain --store folder
        return data.store_dir(), None


def _open_store(store_dir: str):
    from analysis import store as store_mod

    return store_mod.open(store_dir)


def _n_rows(sizes: dict) -> int:
    return int(np.prod([int(v) for v in sizes.values()])) if sizes else 0


def _sizes_text(sizes: dict) -> str:
    if not sizes:
        return "empty"
    if len(sizes) == 1:
        (dim, n), = sizes.items()
        return f"{int(n):,} rows ({dim})"
    return f"{_n_rows(sizes):,} rows (" + " × ".join(f"{int(n)} {d}" for d, n in sizes.items()) + ")"


def _unit_label(name: str, var) -> str:
    u = var.attrs.get("units", "")
    return f"{name} ({u})" if u and u != "1" else str(name)


def _meta_text(meta: dict) -> str:
    return "; ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(meta.items()))


def _r_pol(res):
    """Polarisation resistance (ohm) of every spectrum of a :func:`analysis.drt.drt_many` result:
    :func:`analysis.drt.integrate_regions` over the whole tau grid."""
    from analysis.drt import integrate_regions

    tau = np.asarray(res["tau"].values, float)
    return integrate_regions(res, {"R_pol": (float(tau.min()), float(tau.max()))})["R_pol"].values


@lru_cache(maxsize=1)
def sample_catalog() -> pd.DataFrame:
    """The built-in sample datasets: name, kind, study, size and what each one mimics."""
    import sample_data
    from analysis.schema import detect_kind

    rows = []
    for n in sample_data.names():
        ds = data.load(n)
        rows.append({"name": n, "kind": detect_kind(ds), "study": ds.attrs.get("study", ""),
                     "rows": _sizes_text(dict(ds.sizes)), "mimics": ds.attrs.get("mimics", ""),
                     "synthetic": ds.attrs.get("synthetic") == "true"})
    return pd.DataFrame(rows)


@lru_cache(maxsize=8)
def _store_dataset(store_dir: str, id_: str, meta_key: str):
    """Dataset ``id_`` of the store (``meta_key`` = its metadata JSON, so edits are seen)."""
    return _open_store(store_dir).load(id_)


@lru_cache(maxsize=32)
def _fit_table_csv(store_dir: str, name: str, table: str, circuit: str, meta_key: str) -> bytes:
    ds = _dataset(store_dir, name, meta_key)
    tab = export.fit_table(ds, table, circuit or None)
    used = circuit or ds.attrs.get("circuit") or (export.DEFAULT_EIS_CIRCUIT if table == "circuit_fit" else "")
    comment = f"fit table {table} of {name} ({ds.attrs.get('source_file', '')})"
    if used and table != "cycle_summary":
        comment += f"\ncircuit: {used}"
    return export.table_csv(tab, comment + "\nssb-explorer")


def _dataset(store_dir: str, name: str, meta_key: str = ""):
    if name.startswith(STORE_PREFIX):
        if not store_dir:
            raise KeyError(f"no store configured for {name!r}")
        return _store_dataset(store_dir, name[len(STORE_PREFIX):], meta_key)
    return data.load(name)


def _preview_element(ds, name: str):
    """Overview figure of any dataset: Nyquist (EIS), voltage-time (cycling), pressure-time."""
    from analysis.schema import detect_kind

    kind = ds.attrs.get("kind") or detect_kind(ds)
    title = f"{name} ({kind})"
    if "z_real" in ds and "frequency" in ds.dims:
        sel = ds.isel({d: 0 for d in ds["z_real"].dims if d != "frequency"})
        pts = pd.DataFrame({"Z' (Ω)": sel["z_real"].values, "-Z'' (Ω)": -sel["z_imag"].values,
                            "f (Hz)": sel["frequency"].values})
        first = ", first spectrum" if len(ds["z_real"].dims) > 1 else ""
        return (hv.Curve(pts, "Z' (Ω)", ["-Z'' (Ω)", "f (Hz)"]).opts(color=theme.OKABE_ITO[0])
                * hv.Scatter(pts, "Z' (Ω)", ["-Z'' (Ω)", "f (Hz)"]).opts(color=theme.OKABE_ITO[0], size=4,
                                                                          tools=["hover"])
                ).opts(title=f"Nyquist: {title}{first}")
    if "time" in ds.variables and "record" in ds.dims:
        t_h = np.asarray(ds["time"].values, dtype=float) / 3600.0
        step = max(1, t_h.size // 5000)
        if "voltage" in ds:
            return hv.Curve((t_h[::step], ds["voltage"].values[::step]), "time (h)", "voltage (V)").opts(
                color=theme.OKABE_ITO[1], title=f"Voltage: {title}")
        if "pressure" in ds:
            return hv.Curve((t_h[::step], ds["pressure"].values[::step]), "time (h)", "pressure (MPa)").opts(
                color=theme.OKABE_ITO[2], title=f"Stack pressure: {title}")
    if "current_ss" in ds and "voltage" in ds.dims:
        curves = [hv.Curve((ds["voltage"].values, np.abs(ds["current_ss"].sel(sample=s).values) * 1e9),
                           "voltage (V)", "steady-state current (nA)", label=str(s))
                  for s in (ds["sample"].values if "sample" in ds.dims else [None])]
        return hv.Overlay(curves).opts(title=f"DC polarisation: {title}")
    return hv.Text(0, 0, f"no overview figure for {title}")


class ChunkedDropper(pn.widgets.FileDropper):
    """Panel's ``FileDropper`` (the browser sends files in ``chunk_size`` pieces) writing each piece
    straight to disk through :class:`dashboard.uploads.ChunkedUpload`.

    Panel's widget joins the pieces in memory and keeps every file in ``value``; a 500 MB cycler
    file would then sit in the server's memory (twice, while joined). Here each piece goes to the
    upload's temporary file as it arrives, with the size limit, the quota and the content sniffing
    checked on the way (a refused file stops being written at once; its remaining pieces are
    dropped), and ``value`` stays empty. ``start(name)`` opens the :class:`ChunkedUpload` of a new
    file; ``done(name, upload, error)`` is called once per file, with the complete upload (to
    finish) or the error that stopped it.
    """

    def __init__(self, start=None, done=None, **params):
        super().__init__(**params)
        self._start, self._done = start, done
        self._parts: dict = {}

    def _process_event(self, event):
        if event.event_name != "upload_event":
            return super()._process_event(event)
        data = event.data
        name, k, n = data["name"], int(data["chunk"]), int(data["total_chunks"])
        if k == 1:
            old = self._parts.pop(name, None)
            if old is not None:
                old.abort()
            try:
                self._parts[name] = self._start(name)
            except Exception as exc:  # noqa: BLE001 - reported to the page, never raised
                self._parts[name] = None
                self._done(name, None, exc)
        up = self._parts.get(name)
        if up is not None:
            chunk = data["data"]
            try:
                up.write(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))
            except Exception as exc:  # noqa: BLE001 - the upload discarded its bytes
                up.abort()
                self._parts[name] = up = None
                self._done(name, None, exc)
        if k >= n:
            self._parts.pop(name, None)
            if up is not None:
                self._done(name, up, None)


class DataPage(pn.viewable.Viewer):
    """Upload instrument files, check them, browse the store, edit cell metadata, export."""

    dataset = param.Selector(default=None, objects=[], label="Dataset",
                             doc="Selected dataset: a sample name or store:<id> of the project store.")
    fit_table = param.Selector(default=None, objects=[], label="Fit table",
                               doc="Fit table of the selected dataset offered as CSV.")
    circuit = param.String(default="", label="Circuit (EIS fit tables)",
                           doc="Equivalent circuit for EIS fit tables; empty = the dataset's own or the default.")
    active_mass_mg = param.Number(default=None, allow_None=True, label="Active mass (mg)",
                                  doc="Mass of active material in the cathode (mg), > 0.")
    active_fraction = param.Number(default=None, allow_None=True, label="Active fraction",
                                   doc="Mass fraction of active material in the composite (0 < f <= 1).")
    area_cm2 = param.Number(default=None, allow_None=True, label="Electrode area (cm²)",
                            doc="Geometric electrode area (cm2), > 0.")
    _revision = param.Integer(default=0, precedence=-1, doc="Bumped when the selected entry's catalog row changes.")
    loading_mg_cm2 = param.Number(default=None, allow_None=True, label="Loading (mg/cm²)",
                                  doc="Areal loading of active material (mg/cm2), > 0.")
    batch_action = param.Selector(default="drt", objects=BATCH_ACTIONS, label="Batch job",
                                  doc="Batch run over every spectrum of the selected impedance dataset on the "
                                      "Dask cluster: 'drt' (DRT, automatic lambda by GCV) or 'fit' (refit with "
                                      "the circuit of the 'Circuit' box, else the dataset's own or the default).")

    def __init__(self, dataset: str | None = None, **params):
        super().__init__(**params)
        self._store_dir, self._store_error = _session_store_dir()
        self._entries: list = []
        self._message = pn.Column(sizing_mode="stretch_width")
        self._results = pn.Column(sizing_mode="stretch_width", css_classes=["ssb-upload-results"])
        self._meta_msg = pn.Column(sizing_mode="stretch_width", css_classes=["ssb-meta-message"])
        self._table = pn.widgets.Tabulator(
            pd.DataFrame(), selectable=1, disabled=True, show_index=False, pagination="local",
            page_size=20, sizing_mode="stretch_width", css_classes=["ssb-store-table"],
            layout="fit_data_stretch", formatters={"metadata": {"type": "textarea"}},
            widths={"metadata": 230, "mimics": 520})
        self._table.param.watch(self._on_table_select, "selection")
        from dashboard.serve import UPLOAD_CHUNK_BYTES
        from dashboard.uploads import UploadLimits

        limit = UploadLimits.from_env().max_bytes
        self._upload = ChunkedDropper(
            start=self._start_upload, done=self._upload_done, multiple=True, layout="compact",
            max_file_size=f"{max(1, int(limit // 2**20))}MB", chunk_size=UPLOAD_CHUNK_BYTES,
            css_classes=["ssb-upload"], sizing_mode="stretch_width", height=150,
            stylesheets=[":host { overflow-y: auto; }"])  # FilePond's file list scrolls, no overlap
        self._upload_results: list = []
        self._batch_view = pn.Column(sizing_mode="stretch_width", css_classes=["ssb-batch-view"])
        self._batch_job = self._batch_panel = None
        self._refresh_catalog()
        if dataset is not None and dataset not in self.param.dataset.objects:
            raise KeyError(f"no dataset {dataset!r}")
        if dataset is not None:
            self.dataset = dataset
        self._on_dataset()
        self._make_widgets()

    # ------------------------------------------------------------------ state
    def url_params(self) -> list[str]:
        """Parameters that go into a shared URL."""
        return ["dataset", "fit_table"]

    @property
    def store_dir(self) -> str | None:
        """The project store shown by this page (None: sample data only)."""
        return self._store_dir

    def _store_id(self) -> str | None:
        if self.dataset and self.dataset.startswith(STORE_PREFIX):
            return self.dataset[len(STORE_PREFIX):]
        return None

    def _entry(self):
        sid = self._store_id()
        for e in self._entries:
            if e.id == sid:
                return e
        return None

    def _meta_key(self) -> str:
        e = self._entry()
        return json.dumps(e.metadata, sort_keys=True) if e is not None else ""

    def title(self) -> str:
        """Human title of the selected dataset (source file and id for store entries)."""
        e = self._entry()
        return f"{e.source_file} (store {e.id})" if e is not None else str(self.dataset)

    def load(self):
        """The selected dataset (xarray.Dataset; store metadata applied)."""
        return _dataset(self._store_dir or "", self.dataset, self._meta_key())

    def _refresh_catalog(self, select: str | None = None) -> None:
        """Re-read the store catalog (after an import or an edit); update table and choices, and
        select ``select`` (a dataset name) if given."""
        names = list(sample_catalog()["name"])
        self._entries = []
        if self._store_dir:
            try:
                self._entries = _open_store(self._store_dir).list()
            except SSBError as exc:
                self._store_error = str(exc)
        labels = {f"{e.source_file} · {e.kind} · {e.id[:8]}": f"{STORE_PREFIX}{e.id}"
                  for e in reversed(self._entries)}
        labels.update({f"{n} (sample)": n for n in names})
        objs = list(labels.values())
        current = self.dataset
        self.param.dataset.objects = labels
        if select in objs:
            self.dataset = select
        elif current not in objs:
            self.dataset = objs[0] if objs else None
        if self._store_dir:
            df = pd.DataFrame([{
                "id": e.id, "kind": e.kind, "source file": e.source_file,
                "imported at": e.imported_at.replace("T", " ").replace("+00:00", " UTC"),
                "user": e.user or "", "sha256": e.sha256[:12], "rows": _n_rows(e.sizes),
                "reader": e.reader, "metadata": _meta_text(e.metadata)} for e in reversed(self._entries)],
                columns=["id", "kind", "source file", "metadata", "rows", "imported at", "user", "reader",
                         "sha256"])
        else:
            df = sample_catalog()[["name", "kind", "study", "rows", "mimics"]]
        self._table.value = df
        self._sync_table_selection()

    def _sync_table_selection(self) -> None:
        df = self._table.value
        key = "id" if self._store_dir else "name"
        want = self._store_id() if self._store_dir else self.dataset
        idx = [i for i, v in enumerate(df[key]) if v == want] if key in df else []
        if list(self._table.selection) != idx:
            self._table.selection = idx

    def _on_table_select(self, event) -> None:
        if not event.new:
            return
        row = self._table.value.iloc[event.new[0]]
        name = f"{STORE_PREFIX}{row['id']}" if self._store_dir else row["name"]
        if name in self.param.dataset.objects and name != self.dataset:
            self.dataset = name

    @param.depends("dataset", watch=True)
    def _on_dataset(self) -> None:
        kind = None
        try:
            if self.dataset:
                from analysis.schema import detect_kind

                ds = self.load()
                kind = ds.attrs.get("kind") or detect_kind(ds)
        except Exception as exc:  # noqa: BLE001 - a broken dataset must not break the page
            self._message[:] = [pn.pane.Alert(md_escape(f"{self.dataset}: cannot be opened ({exc})"),
                                              alert_type="danger")]
        tables = export.fit_table_names(kind)
        self.param.fit_table.objects = list(tables)
        if self.fit_table not in tables:
            self.fit_table = next(iter(tables), None)
        e = self._entry()
        meta = e.metadata if e is not None else {}
        self.param.update(**{p: (float(meta[p]) if isinstance(meta.get(p), (int, float)) else None)
                             for p in CELL_FIELDS})
        self._meta_msg[:] = []
        self._update_filenames()
        if hasattr(self, "_table"):
            self._sync_table_selection()

    # ------------------------------------------------------------------ uploads
    def _start_upload(self, name: str):
        """A :class:`dashboard.uploads.ChunkedUpload` into the store for a file the browser starts sending."""
        from dashboard.uploads import ChunkedUpload, UploadError

        if not self._store_dir:
            raise UploadError("No project store is configured: start the server with --store DIR to import files.")
        return ChunkedUpload(self._store_dir, name, _current_user())

    def _upload_done(self, name: str, upload, error) -> None:
        """One file of the drop zone arrived (``upload``: finish and import it) or was refused."""
        from dashboard.uploads import UploadError

        shown = name if isinstance(name, str) else repr(name)
        res = None
        if error is None:
            try:
                res = upload.finish()
            except Exception as exc:  # noqa: BLE001
                error = exc
        if error is not None:
            if isinstance(error, (UploadError, SSBError)):
                line = (False, _tidy(str(error)))
            else:
                log.exception("upload of %r failed", shown, exc_info=error)
                line = (False, f"{shown}: not imported: unexpected {type(error).__name__} ({error})")
        else:
            line = self._result_line(shown, res)
        self._upload_results = (self._upload_results + [line])[-20:]
        self._show_results(self._upload_results)
        if res is not None and getattr(res.ingested, "id", None):
            self._imported(res.ingested.id)

    @staticmethod
    def _result_line(shown: str, res) -> tuple[bool, str]:
        e = res.ingested
        if e is None or not hasattr(e, "id"):
            return True, f"{res.filename}: stored ({res.size:,} bytes)"
        again = "" if getattr(e, "created", True) else " (already in the store: nothing new imported)"
        renamed = f" (saved as {res.filename})" if res.filename != shown else ""
        return True, (f"{shown}{renamed}: imported as {e.kind} dataset {e.id}, "
                      f"{_sizes_text(e.sizes)}, reader {e.reader}{again}")

    def _imported(self, last_id: str) -> None:
        """Show the store with the new dataset selected: choices, selection and table change in one
        batch. (Refreshing the table first and selecting afterwards sent the browser the new rows
        with the old row index selected; the table's echo of that selection could then select the
        previous dataset again, seen when two files were uploaded together.)"""
        from dashboard.widgets import batched

        data.clear()
        _store_dataset.cache_clear()
        with batched():
            self._refresh_catalog(select=f"{STORE_PREFIX}{last_id}")

    def import_files(self, files: list[tuple[str, bytes]]) -> list[tuple[bool, str]]:
        """Import uploaded files ``[(name, bytes), ...]``; show and return ``[(ok, sentence), ...]``."""
        if not self._store_dir:
            out = [(False, "No project store is configured: start the server with --store DIR to import files.")]
            self._show_results(out)
            return out
        from dashboard.uploads import UploadError, save_upload

        out = []
        last_id = None
        self._results.loading = True
        try:
            for name, content in files:
                shown = name if isinstance(name, str) else repr(name)
                try:
                    res = save_upload(self._store_dir, name, content, user=_current_user())
                except (UploadError, SSBError) as exc:
                    out.append((False, _tidy(str(exc))))
                    continue
                except Exception as exc:  # noqa: BLE001 - never a traceback in the page
                    log.exception("upload of %r failed", shown)
                    out.append((False, f"{shown}: not imported: unexpected {type(exc).__name__} ({exc})"))
                    continue
                out.append(self._result_line(shown, res))
                last_id = getattr(res.ingested, "id", None) or last_id
        finally:
            self._results.loading = False
        if last_id is not None:
            self._imported(last_id)
        self._show_results(out)
        return out

    def _show_results(self, results: list[tuple[bool, str]]) -> None:
        self._results[:] = [
            pn.pane.Alert(("✔ " if ok else "✘ ") + md_escape(msg), alert_type="success" if ok else "danger",
                          css_classes=["ssb-upload-ok" if ok else "ssb-upload-error"], margin=(2, 5))
            for ok, msg in results]

    # ------------------------------------------------------------------ metadata
    def validate_metadata(self) -> dict:
        """The edited cell metadata as ``{key: float or None}``; raise ValueError naming a bad field."""
        out = {}
        for p, (label, unit, upper) in CELL_FIELDS.items():
            v = getattr(self, p)
            if v is None:
                out[p] = None
                continue
            v = float(v)
            u = f" {unit}" if unit else ""
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{label} must be a positive number" + (f" ({unit})" if unit else "")
                                 + f", got {v:g}")
            if upper is not None and v > upper:
                raise ValueError(f"{label} must be at most {upper:g}{u}, got {v:g}")
            out[p] = v
        return out

    def save_metadata(self, event=None) -> bool:
        """Validate the edited cell metadata and save it to the catalog; show the outcome."""
        e = self._entry()
        if e is None or not self._store_dir:
            self._meta_msg[:] = [pn.pane.Alert("Select a dataset of the project store first.", alert_type="warning")]
            return False
        try:
            meta = self.validate_metadata()
            new = _open_store(self._store_dir).update_metadata(e.id, **meta)
        except (ValueError, SSBError) as exc:
            self._meta_msg[:] = [pn.pane.Alert("✘ " + md_escape(str(exc)), alert_type="danger",
                                               css_classes=["ssb-meta-error"])]
            return False
        data.clear()
        _store_dataset.cache_clear()
        current = self.dataset
        self._refresh_catalog()
        self.dataset = current
        self._revision += 1
        saved = _meta_text({k: v for k, v in new.metadata.items() if k in CELL_FIELDS}) or "cleared"
        self._meta_msg[:] = [pn.pane.Alert(f"✔ Saved for {e.id}: " + md_escape(saved), alert_type="success",
                                           css_classes=["ssb-meta-ok"])]
        return True

    # ------------------------------------------------------------------ downloads
    def _base_name(self) -> str:
        name = self.dataset or "dataset"
        e = self._entry()
        if e is not None:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", e.source_file.rsplit(".", 1)[0]).strip("._") or e.id
            return f"{stem}-{e.id[:8]}"
        return re.sub(r"[^A-Za-z0-9._-]+", "_", name)

    def _update_filenames(self) -> None:
        if not hasattr(self, "_dl"):
            return
        base = self._base_name()
        self._dl["nc"].filename = f"{base}.nc"
        self._dl["csv"].filename = f"{base}.csv"
        self._dl["fit"].filename = f"{base}-{self.fit_table or 'fit'}.csv"
        self._dl["fit"].disabled = self.fit_table is None
        for ext in ("html", "png", "svg"):
            self._dl[ext].filename = f"{base}-overview.{ext}"

    @param.depends("fit_table", watch=True)
    def _on_fit_table(self) -> None:
        self._update_filenames()

    def _guard(self, what: str, ext: str, fn):
        """Run export ``fn() -> bytes``; on failure show the reason and deliver it as a text file."""
        self._update_filenames()
        try:
            out = fn()
            self._message[:] = []
            return io.BytesIO(out)
        except Exception as exc:  # noqa: BLE001 - an export never breaks the server
            if not isinstance(exc, SSBError):
                log.exception("export %s failed", what)
            msg = f"{what} failed: {exc}"
            self._message[:] = [pn.pane.Alert("✘ " + md_escape(msg), alert_type="danger",
                                              css_classes=["ssb-export-error"])]
            self._dl[ext].filename = f"{self._base_name()}-export-error.txt"
            return io.BytesIO(msg.encode("utf-8"))

    def dataset_netcdf(self) -> bytes:
        """NetCDF bytes of the selected dataset."""
        return export.dataset_netcdf(self.load())

    def dataset_csv(self) -> bytes:
        """CSV bytes of the selected dataset (units in the column names)."""
        return export.dataset_csv(self.load())

    def fit_table_csv(self) -> bytes:
        """CSV bytes of the selected fit table of the selected dataset."""
        if self.fit_table is None:
            raise export.ExportError(f"no fit table for {self.dataset}")
        return _fit_table_csv(self._store_dir or "", self.dataset, self.fit_table, self.circuit.strip(),
                              self._meta_key())

    # ------------------------------------------------------------------ batch jobs
    def _batch_circuit(self, ds) -> str:
        return self.circuit.strip() or str(ds.attrs.get("circuit") or "") or DEFAULT_BATCH_CIRCUIT

    def run_batch(self, event=None):
        """Submit the chosen batch job over every spectrum of the selected dataset.

        ``batch_action="drt"`` runs :func:`analysis.drt.drt_many` (``lam="auto"``, GCV),
        ``"fit"`` runs :func:`analysis.eis.fit_many` with the circuit of the ``circuit`` box (else
        the dataset's own, else ``R0-p(R1,CPE1)-p(R2,CPE2)-W1``), both through
        :func:`dashboard.jobs.submit_batch`: split along the first non-frequency dimension, run on
        the Dask workers, cached in the project store. The card shows the job's progress bar and
        Cancel button, then a summary and a NetCDF download of the result.

        Returns
        -------
        dashboard.jobs.Job or None
            The job (already finished when cached), or None when the dataset cannot be batched
            (the reason is shown in the card).
        """
        from analysis.schema import detect_kind
        from dashboard import jobs

        self._batch_job = None
        try:
            ds = self.load()
            kind = ds.attrs.get("kind") or detect_kind(ds)
            if kind not in EIS_KINDS or "frequency" not in ds.dims:
                raise jobs.JobError(f"{self.title()}: batch jobs run on impedance datasets (this one is {kind})")
            dim = next((d for d in ds.dims if d != "frequency"), None)
            if dim is None:
                raise jobs.JobError(f"{self.title()}: one spectrum only, nothing to batch")
            if self.batch_action == "fit":
                job = jobs.submit_batch("fit_many", ds, self._batch_circuit(ds), store=self._store_dir, batch_dim=dim)
            else:
                job = jobs.submit_batch("drt_many", ds, lam="auto", lam_method="gcv", store=self._store_dir,
                                        batch_dim=dim)
        except SSBError as exc:
            self._batch_view[:] = [pn.pane.Alert("✘ " + md_escape(_tidy(str(exc))), alert_type="danger",
                                                 css_classes=["ssb-batch-error"])]
            return None
        except Exception as exc:  # noqa: BLE001 - a batch never breaks the page (e.g. no Dask)
            log.exception("batch job could not start")
            self._batch_view[:] = [pn.pane.Alert(md_escape(f"✘ The batch job could not start: {exc}"),
                                                 alert_type="danger", css_classes=["ssb-batch-error"])]
            return None
        self._batch_job, self._batch_panel = job, None
        panel = jobs.job_panel(job, on_done=self._batch_done)  # a cached job is done already
        self._batch_panel = panel
        self._batch_view[:] = [panel]
        if job.done():
            self._batch_done(job)
        return job

    def batch_summary(self, job) -> str:
        """One line about a finished batch ``job``'s result (Markdown)."""
        res = job.result()
        if job.fn_name == "drt_many":
            n = int(np.prod([res.sizes[d] for d in res["lam"].dims])) if res["lam"].dims else 1
            lam = np.asarray(res["lam"].values, float)
            return (f"**DRT of {n} spectra**: γ over {' × '.join(res['gamma'].dims)}; λ (GCV) "
                    f"{np.nanmin(lam):.2g} – {np.nanmax(lam):.2g}; median R_pol "
                    f"{float(np.nanmedian(_r_pol(res))):.3g} Ω")
        ok = np.asarray(res["success"].values, bool)
        return (f"**{md_escape(res.attrs.get('circuit', ''))} fitted to {ok.size} spectra**: {int(ok.sum())} "
                f"converged; median χ² {float(np.nanmedian(res['chi2'].values)):.3g}")

    def _batch_done(self, job) -> None:
        """Show the result of the finished (or failed / cancelled) batch ``job`` in the card."""
        if job is not self._batch_job or self._batch_panel is None:
            return
        if job.status not in ("finished", "cached"):
            return  # the job panel shows the status and the error
        try:
            text = self.batch_summary(job)
        except Exception as exc:  # noqa: BLE001
            text = md_escape(f"result not readable: {exc}")
        dl = pn.widgets.FileDownload(
            callback=lambda: self._guard("batch result export", "batch", lambda: export.dataset_netcdf(job.result())),
            filename=f"{self._base_name()}-{'drt' if job.fn_name == 'drt_many' else 'fit'}.nc",
            label="Batch result as NetCDF", color="primary", css_classes=["ssb-dl-batch"])
        self._dl["batch"] = dl
        self._batch_view[:] = [self._batch_panel,
            pn.pane.Markdown(text, css_classes=["ssb-batch-summary"], sizing_mode="stretch_width"), dl]

    def batch_card(self):
        """The batch-job card (impedance datasets)."""
        run = pn.widgets.Button(label="Run on the cluster", color="primary", css_classes=["ssb-batch-run"])
        run.on_click(self.run_batch)
        return pn.Card(
            pn.pane.Markdown("Runs over every spectrum of the selected impedance dataset on the Dask workers "
                             "(not in this server process: the sliders of other users stay responsive). "
                             "Results are kept in the store's job cache."),
            pn.Row(pn.widgets.Select.from_param(self.param.batch_action, css_classes=["ssb-w-batch-action"],
                                                width=330), run),
            self._batch_view, title="Batch jobs (Dask)", sizing_mode="stretch_width", collapsible=False,
            css_classes=["ssb-batch-card"])

    def figure(self):
        """The overview figure of the selected dataset (a HoloViews object)."""
        return _preview_element(self.load(), self.title()).opts(responsive=False, width=760, height=460)

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self) -> None:
        self._dl = {
            "nc": pn.widgets.FileDownload(callback=lambda: self._guard("NetCDF export", "nc", self.dataset_netcdf),
                                          label="Dataset as NetCDF", color="primary",
                                          css_classes=["ssb-dl-netcdf"], sizing_mode="stretch_width"),
            "csv": pn.widgets.FileDownload(callback=lambda: self._guard("CSV export", "csv", self.dataset_csv),
                                           label="Dataset as CSV", css_classes=["ssb-dl-csv"],
                                           sizing_mode="stretch_width"),
            "fit": pn.widgets.FileDownload(callback=lambda: self._guard("fit table export", "fit",
                                                                        self.fit_table_csv),
                                           label="Fit table as CSV", css_classes=["ssb-dl-fit"],
                                           sizing_mode="stretch_width"),
        }
        ok, why = export.image_export_status()
        for ext, fn in (("html", export.figure_html), ("png", export.figure_png), ("svg", export.figure_svg)):
            self._dl[ext] = pn.widgets.FileDownload(
                callback=(lambda ext=ext, fn=fn: self._guard(f"figure export ({ext.upper()})", ext,
                                                             lambda: fn(self.figure()))),
                label=ext.upper(), css_classes=[f"ssb-dl-{ext}"], width=88,
                disabled=(ext != "html" and not ok))
        self._image_note = pn.pane.Markdown(
            "" if ok else f"*{md_escape(why)}*", css_classes=["ssb-export-note"], visible=not ok,
            sizing_mode="stretch_width")
        self._update_filenames()
        self._meta_widgets = [pn.widgets.FloatInput.from_param(self.param[p], css_classes=[f"ssb-meta-{p.replace('_', '-')}"],
                                                               sizing_mode="stretch_width")
                              for p in CELL_FIELDS]
        self._save = pn.widgets.Button(label="Save metadata", color="primary", css_classes=["ssb-meta-save"])
        self._save.on_click(self.save_metadata)

    def controls(self):
        """Sidebar controls: dataset, fit table, downloads."""
        return pn.Column(
            pn.widgets.Select.from_param(self.param.dataset, label="Dataset", css_classes=["ssb-w-dataset"],
                                         sizing_mode="stretch_width"),
            pn.pane.Markdown("#### Download the dataset"),
            self._dl["nc"], self._dl["csv"],
            pn.pane.Markdown("#### Fit tables"),
            pn.widgets.Select.from_param(self.param.fit_table, label="Fit table", sizing_mode="stretch_width"),
            pn.widgets.TextInput.from_param(self.param.circuit, label="Circuit (EIS fits)",
                                            placeholder="the dataset's own / R0-p(R1,CPE1)-W1",
                                            sizing_mode="stretch_width"),
            self._dl["fit"],
            pn.pane.Markdown("#### Overview figure (shown on the right)"),
            pn.Row(self._dl["html"], self._dl["png"], self._dl["svg"]),
            self._image_note,
            sizing_mode="stretch_width")

    # ------------------------------------------------------------------ views
    def _header(self):
        if self._store_error:
            return pn.pane.Alert(md_escape(f"The project store cannot be opened: {self._store_error}"),
                                 alert_type="danger")
        if not self._store_dir:
            return pn.pane.Alert(
                "**No project store is configured: you are looking at the built-in SYNTHETIC sample data.** "
                "Every dataset below was simulated to mimic one of the seed studies (S1-S5); download them "
                "as NetCDF or CSV. To import your own instrument files, start the server with "
                "`ssb-explorer serve --store DIR`.", alert_type="info", css_classes=["ssb-no-store"])
        from dashboard.uploads import UploadLimits

        lim = UploadLimits.from_env()
        from dashboard.access import auth_enabled

        where = os.path.basename(self._store_dir) if auth_enabled() else self._store_dir
        return pn.pane.Markdown(
            f"**Project store** `{md_escape(where)}` · user **{md_escape(_current_user())}** · "
            f"uploads up to {lim.max_bytes / 2**20:g} MB per file. Readers: BioLogic, Gamry, ZView, Autolab, "
            "Parstat, RelaxIS, Squidstat, NEWARE, Maccor, Arbin, pressure-logger and generic CSV "
            "(the format is recognised from the content).", css_classes=["ssb-store-info"],
            sizing_mode="stretch_width")

    @param.depends("dataset")
    def preview(self):
        """Overview figure of the selected dataset."""
        try:
            return _preview_element(self.load(), self.title()).opts(responsive=True, height=380)
        except Exception as exc:  # noqa: BLE001 - the page shows the reason instead
            return hv.Text(0, 0, f"cannot plot {self.dataset}: {exc}")

    @param.depends("dataset", "_revision")
    def details(self):
        """What the selected dataset is: kind, size, provenance, metadata."""
        try:
            ds = self.load()
        except Exception as exc:  # noqa: BLE001
            return pn.pane.Alert(md_escape(f"{self.dataset}: {exc}"), alert_type="danger")
        from analysis.schema import detect_kind

        a = ds.attrs
        rows = [("kind", a.get("kind") or detect_kind(ds)), ("size", _sizes_text(dict(ds.sizes))),
                ("variables", ", ".join(_unit_label(v, ds[v]) for v in ds.data_vars))]
        for k in ("source_file", "reader", "study", "mimics", "cathode", "electrolyte", "anode", "circuit"):
            if a.get(k) not in (None, ""):
                rows.append((k.replace("_", " "), a[k]))
        if a.get("synthetic") == "true":
            rows.insert(0, ("", "SYNTHETIC sample data (simulated, not a measurement)"))
        for p, (label, unit, _) in CELL_FIELDS.items():
            if p in a:
                rows.append((label.lower(), f"{a[p]:g} {unit}" if isinstance(a[p], (int, float)) else a[p]))
        md = "\n".join(f"- **{md_escape(k)}** {md_escape(v)}" if k else f"- **{md_escape(v)}**" for k, v in rows)
        return pn.pane.Markdown(f"### {md_escape(self.title())}\n{md}", css_classes=["ssb-data-details"],
                                sizing_mode="stretch_width")

    @param.depends("dataset")
    def metadata_editor(self):
        """Cell-metadata editor (cycling datasets of the store) or a hint why it is absent."""
        e = self._entry()
        if not self._store_dir:
            return pn.pane.Markdown("*Cell metadata can be edited for datasets of a project store.*")
        if e is None or e.kind != "cycling":
            return pn.pane.Markdown("*Select a cycling dataset of the store to edit its cell metadata "
                                    "(active mass, active fraction, area, loading).*",
                                    css_classes=["ssb-meta-hint"])
        return pn.Column(
            pn.pane.Markdown(f"### Cell metadata of `{e.id}` ({md_escape(e.source_file)})\n"
                             "Used for specific (mAh/g) and areal (mAh/cm²) capacities and C-rates. "
                             "Leave a field empty to remove it."),
            pn.Row(*self._meta_widgets, sizing_mode="stretch_width"),
            pn.Row(self._save), self._meta_msg, sizing_mode="stretch_width", css_classes=["ssb-meta-editor"])

    def main_view(self):
        """Main area: store info, upload and results, catalog, dataset details, metadata, figure."""
        parts = [self._header(), self._message]
        if self._store_dir:
            parts += [pn.pane.Markdown("### Import instrument files"), self._upload, self._results]
        parts += [pn.pane.Markdown("### Project store" if self._store_dir else "### Sample datasets"),
                  self._table,
                  pn.Row(pn.Column(self.details, width=480),
                         pn.panel(self.preview, sizing_mode="stretch_width", min_height=340),
                         sizing_mode="stretch_width"),
                  self.metadata_editor, self.batch_card()]
        return pn.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=330), self.main_view(), sizing_mode="stretch_width")
