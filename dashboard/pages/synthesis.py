"""Synthesis explorer (studies S1, S3, S5): milling parameters -> pellet conductivity."""
from __future__ import annotations

from collections import OrderedDict

import holoviews as hv
import numpy as np
import panel as pn
import param

from analysis.errors import SSBError
from dashboard import compute, data, theme
from dashboard.live import live
from dashboard.widgets import sections, throttled

#: milling parameters and pellet mass that pick a pellet; a slider is shown for those that vary in the dataset
DESCRIPTORS = ("frb_pct", "bmr", "rpm", "milling_time_h", "mass_mg")
LABELS = {"frb_pct": "FRB (%)", "bmr": "BMR (x:1)", "rpm": "mill speed (rpm)", "milling_time_h": "milling time (h)",
          "mass_mg": "pellet mass (mg)"}
#: parameters that pick the pellet shown
SELECTION = ("dataset", *DESCRIPTORS, "state", "composition")
#: parameters that change the numbers of every pellet
ANALYSIS = ("circuit", "arrhenius_form")
#: page sections (tabs): key -> title
SECTIONS = {"pellet": "Selected pellet", "bode": "Bode plots", "trends": "Trends vs milling",
            "whatif": "What-if model"}

# ---- plot styles, applied once: every frame is a clone of one of these prototypes (same options id),
# so a slider move builds bare elements and HoloViews does no option processing per frame.
# Plots of the selected pellet are framewise (a new pellet or temperature rescales the axes).
_OI = theme.OKABE_ITO
_ARRAY = ["array", "dictionary"]  # frames hold plain numpy columns (no pandas conversion)
_LIVE = {"framewise": True, **theme.PLOT_OPTS}
_FW = {"framewise": True}
_ZAXES = {"xlabel": "Z' (Ω)", "ylabel": "-Z'' (Ω)", "xformatter": "%.3g", "yformatter": "%.3g"}


def _proto(element, *dims, group: str, label: str = "", **style):
    """An empty, styled element (numpy columns) whose clones carry the style."""
    return element([], *dims, group=group, label=label, datatype=_ARRAY).opts(**style)


_Z = ("Z'", "-Z''")
_NYQ_DATA = _proto(hv.Scatter, *_Z, group="Data", color=_OI[0], size=6, title="{label}",
                   legend_position="top_left", **_ZAXES, **_LIVE)
_NYQ_FIT = _proto(hv.Curve, *_Z, group="Fit", color=_OI[3], line_width=2, **_FW)
_HF_R = _proto(hv.VLines, group="Intercept", color=_OI[2], line_dash="dashed", line_width=2, **_FW)
_F = "f (Hz)"
_BODE_MOD = _proto(hv.Scatter, _F, "|Z| (Ω)", group="Data", color=_OI[0], size=5, logx=True, logy=True, **_LIVE)
_BODE_PH = _proto(hv.Scatter, _F, "-phase (°)", group="Phase", color=_OI[2], size=5, logx=True, **_LIVE)
_BODE_FIT = _proto(hv.Curve, _F, "|Z| (Ω)", group="Fit", color=_OI[3], line_width=2, **_FW)
_ARR_DATA = _proto(hv.Scatter, "1000/T (1/K)", "y", group="Data", color=_OI[0], size=7, title="{label}",
                   legend_position="top_right", **_LIVE)
_ARR_FIT = _proto(hv.Curve, "1000/T (1/K)", "y", group="Fit", color=_OI[3], line_width=2, **_FW)
# trends: every pellet of the state (points, hover names the pellet), the series through the selection
# (line) and the selection (diamond); the title is the elements' common label; padding keeps the end
# points off the frame
_TREND = {"title": "{label}", "show_legend": False, "padding": 0.08, **_LIVE}
#: trend properties: key -> (column of compute.trend_series, axis label, short name in the title)
PROPS = {"sigma": ("sigma", "σ(25 °C) (mS/cm)", "σ"), "ea": ("Ea", "Ea (eV)", "Ea"),
         "cell": ("cell", "V_cell (Å³)", "V_cell")}
_TREND_PTS = {prop: hv.Scatter([], "x", ["y", "pellet"], group="Trend", datatype=["dictionary"]).opts(
    color=_OI[i], size=7, **_TREND) for i, prop in enumerate(PROPS)}
_TREND_ERR = _proto(hv.ErrorBars, "x", ["y", "err"], group="Trend", color=_OI[1], line_width=1.5,
                    show_legend=False, **_FW)
_TREND_LINE = {prop: _proto(hv.Curve, "x", "y", group="Series", color=_OI[i], line_width=2, show_legend=False, **_FW)
               for i, prop in enumerate(PROPS)}
_TREND_MARK = _proto(hv.Scatter, "x", "y", group="Selection", color=_OI[3], size=14, marker="diamond",
                     show_legend=False, **_FW)
# framewise: a what-if point outside the measured grid widens the axes (blank = no map there) instead of
# falling off the plot
_WHATIF = _proto(hv.Points, ["FRB (%)", "BMR (x:1)"], group="Whatif", label="what-if", color=_OI[3], marker="x",
                 size=16, line_width=3, **_FW)


#: model-map grid (n x n cells): the browser redraws every cell whenever the what-if marker moves
_MAP_N = 40


#: plot layers kept by primitive key, shared by every page and session (see :func:`_frames`)
_FRAMES: OrderedDict = OrderedDict()
_FRAMES_MAX = 256


def _frames(key: tuple, build):
    """``build()`` kept under the primitive ``key`` (least recently used dropped beyond
    ``_FRAMES_MAX``). HoloViews elements are not modified by plotting, so one object can be shown
    by several sessions; a layer whose inputs did not change is then the same object, which
    HoloViews does not re-send, and a new session does not rebuild it (HoloViews builds an element
    in ~1-4 ms, mostly parameter set-up)."""
    el = _FRAMES.get(key)
    if el is None:
        el = _FRAMES[key] = build()
        while len(_FRAMES) > _FRAMES_MAX:
            _FRAMES.popitem(last=False)
    else:
        _FRAMES.move_to_end(key)
    return el


def _el(proto, *columns, **kw):
    """A frame: ``proto`` (style and options) holding the numpy ``columns``."""
    return proto.clone(np.column_stack(columns), **kw)


def _no_spectrum() -> dict:
    e = np.zeros(0)
    return {**{k: e for k in ("freq", "zr", "mzi", "fr", "mfi", "absz", "absf", "ph", "phf")},
            "keep": np.zeros(0, bool), "r": float("nan"), "chi2": float("nan"), "success": False,
            "message": "no pellet"}


_NO_SPECTRUM = _no_spectrum()


class SynthesisExplorer(pn.viewable.Viewer):
    """Pick a pellet by its milling parameters; see its impedance, fit, conductivity and trends."""

    dataset = param.Selector(default=None, objects=[], doc="Pellet dataset (kind pellet_eis).")
    frb_pct = param.Selector(default=None, objects=[], label="Ball filling rate FRB (%)",
                             doc="Filling rate of milling balls (% of the jar volume, solid-ball basis).")
    bmr = param.Selector(default=None, objects=[], label="Ball-to-material ratio (x:1)",
                         doc="Ball-to-material mass ratio.")
    rpm = param.Selector(default=None, objects=[], label="Mill speed (rpm)",
                         doc="Main-disk speed of the mill in rpm (a slider when the dataset varies it).")
    milling_time_h = param.Selector(default=None, objects=[], label="Milling time (h)",
                                    doc="Milling time in hours (a slider when the dataset varies it).")
    mass_mg = param.Selector(default=None, objects=[], label="Pellet mass (mg)", doc="Pellet mass in mg.")
    state = param.Selector(default=None, objects=[], label="State", doc="As-milled or sintered.")
    composition = param.Selector(default=None, objects=[], label="Composition",
                                 doc="Composition of the electrolyte (for composition series).")
    temperature_C = param.Selector(default=None, objects=[], label="Temperature (C)",
                                   doc="Temperature of the spectrum shown, in degrees Celsius.")
    circuit = param.String(default="L0-R0-CPE1", doc="Equivalent circuit fitted to every spectrum.")
    arrhenius_form = param.Selector(default="sigmaT", objects=["sigmaT", "sigma"],
                                    doc="Arrhenius form: sigma*T = A exp(-Ea/kT) or sigma = s0 exp(-Ea/kT).")
    # ---- what-if (mill physics + structure-property model)
    mill = param.Selector(default="Fritsch P5", objects=[], label="Mill",
                          doc="Planetary mill geometry (disk radius, jar/disk speed ratio) for the impact model.")
    what_frb_pct = param.Number(default=10.0, bounds=(1.0, 40.0), label="What-if FRB (%)",
                                doc="Ball filling rate for the what-if calculation, % of the jar volume (solid balls).")
    what_bmr = param.Number(default=80.0, bounds=(5.0, 150.0), label="What-if BMR (x:1)",
                            doc="Ball-to-material mass ratio for the what-if calculation.")
    what_rpm = param.Number(default=500.0, bounds=(100.0, 1100.0), label="What-if mill speed (rpm)",
                            doc="Disk speed of the planetary mill in rpm.")
    what_time_h = param.Number(default=16.0, bounds=(0.5, 48.0), label="What-if milling time (h)",
                               doc="Milling time in hours (sets the cumulative dose).")
    ball_diameter_mm = param.Selector(default=10.0, objects=[3.0, 5.0, 10.0, 15.0, 20.0], label="Ball diameter (mm)",
                                      doc="Diameter of the milling balls in mm.")
    ball_material = param.Selector(default="WC", objects=[], label="Ball material",
                                   doc="Ball material (sets the ball density).")
    jar_volume_ml = param.Selector(default=50.0, objects=[12.0, 20.0, 45.0, 50.0, 80.0, 125.0, 250.0, 500.0],
                                   label="Jar volume (mL)", doc="Jar volume in mL.")
    section = param.Selector(default="pellet", objects=list(SECTIONS), label="Section",
                             doc="Section (tab) shown: 'pellet' (Nyquist plots with the fit and the Arrhenius "
                                 "plot of the selected pellet), 'bode' (its Bode plots), 'trends' (conductivity, "
                                 "Ea and, with structural data, unit-cell volume against each milling parameter) "
                                 "or 'whatif' (mill physics and the structure-property model).")

    def __init__(self, dataset: str | None = None, **params):
        from analysis.milling import BALL_DENSITIES_G_CM3, MILL_PRESETS

        self.param.mill.objects = list(MILL_PRESETS)
        self.param.ball_material.objects = list(BALL_DENSITIES_G_CM3)
        super().__init__(**params)
        self.param.dataset.objects = data.names("pellet_eis")
        self.dataset = dataset or (self.param.dataset.objects[0] if self.param.dataset.objects else None)
        self._on_dataset()
        self._widgets = self._make_widgets()

    # ------------------------------------------------------------------ state
    def url_params(self) -> list[str]:
        """Parameters that go into a shared URL."""
        return ["dataset", "frb_pct", "bmr", "rpm", "milling_time_h", "mass_mg", "state", "composition",
                "temperature_C", "circuit", "arrhenius_form", "mill", "what_frb_pct", "what_bmr", "what_rpm",
                "what_time_h", "ball_diameter_mm", "ball_material", "jar_volume_ml", "section"]

    @param.depends("dataset", watch=True)
    def _on_dataset(self):
        ds = data.load(self.dataset)
        for p in (*DESCRIPTORS, "state", "composition"):
            if p in ds.coords:
                vals = ds[p].values
                uniq = sorted({v for v in vals.tolist() if v == v})  # drop NaN
                objs = [float(v) if isinstance(v, (int, float)) else str(v) for v in uniq]
            else:
                objs = []
            self.param[p].objects = objs
        temps = [round(float(t) - 273.15, 2) for t in ds["temperature"].values]
        self.param.temperature_C.objects = temps
        # default: the best (highest 25 C conductivity) sample, shown at the temperature nearest 25 C
        best = self._best_sample()
        sel = data.load(self.dataset).sel(sample=best)
        upd = {}
        for p in (*DESCRIPTORS, "state", "composition"):
            if p in sel.coords and self.param[p].objects:
                v = sel[p].item()
                upd[p] = float(v) if isinstance(v, (int, float)) else str(v)
            else:
                upd[p] = None
        upd["temperature_C"] = min(temps, key=lambda t: abs(t - 25))
        for p, q in (("what_rpm", "rpm"), ("what_time_h", "milling_time_h"), ("ball_diameter_mm", "ball_diameter_mm"),
                     ("ball_material", "ball_material"), ("jar_volume_ml", "jar_volume_ml")):
            if q in sel.coords:
                v = sel[q].item()
                if isinstance(v, float) and not np.isfinite(v):
                    continue
                v = float(v) if isinstance(v, (int, float)) else str(v)
                objs = getattr(self.param[p], "objects", None)
                if objs is None or v in objs:
                    upd[p] = v
        self.param.update(**upd)
        if "circuit" in ds.attrs:
            self.circuit = ds.attrs["circuit"]
        self._show_varying()

    def _show_varying(self):
        """Show the slider of each selection parameter that takes more than one value in the dataset (a
        dataset picked later, e.g. from a shared URL, may vary other parameters than the first one)."""
        for p, w in getattr(self, "_choice_widgets", {}).items():
            w.visible = len([o for o in self.param[p].objects if o is not None]) > 1

    @param.depends("frb_pct", "bmr", "rpm", "milling_time_h", watch=True)
    def _what_follows_selection(self):
        """Picking a measured sample moves the what-if sliders to it (compare model and data)."""
        upd = {}
        for p, q in (("frb_pct", "what_frb_pct"), ("bmr", "what_bmr"), ("rpm", "what_rpm"),
                     ("milling_time_h", "what_time_h")):
            v = getattr(self, p)
            if v is not None:
                lo, hi = self.param[q].bounds
                upd[q] = min(max(float(v), lo), hi)
        self.param.update(**upd)

    def _best_sample(self) -> str:
        """Highest sigma(25 C) among the pellets of the most common mass (the main series)."""
        _, arr = compute.pellet_results(self.dataset, self.circuit, self.arrhenius_form)
        s = arr["sigma_25C"].values.copy()
        ds = data.load(self.dataset)
        if "mass_mg" in ds.coords:
            m = ds["mass_mg"].values
            vals, counts = np.unique(m[np.isfinite(m)], return_counts=True)
            if vals.size:
                s[m != vals[np.argmax(counts)]] = np.nan
        return str(arr["sample"].values[int(np.nanargmax(s))])

    @property
    def sample(self) -> str | None:
        """Id of the sample matching the current slider values (None if not measured)."""
        crit = tuple((p, getattr(self, p)) for p in (*DESCRIPTORS, "state", "composition")
                     if getattr(self, p) is not None)
        return compute.pellet_sample(self.dataset, crit)

    def _results(self):
        return compute.pellet_results(self.dataset, self.circuit, self.arrhenius_form)

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self):
        ws = [pn.widgets.Select.from_param(self.param.dataset, name="Dataset")]
        # a slider per selection parameter, shown while the dataset varies it (see _show_varying)
        self._choice_widgets = {p: throttled(self, p, pn.widgets.DiscreteSlider, name=self.param[p].label)
                                for p in (*DESCRIPTORS, "composition")}
        ws += [self._choice_widgets[p] for p in DESCRIPTORS]
        ws.append(pn.widgets.RadioButtonGroup.from_param(self.param.state, name="State", **theme.CHOICE_STYLE))
        ws.append(self._choice_widgets["composition"])
        self._show_varying()
        ws.append(throttled(self, "temperature_C", pn.widgets.DiscreteSlider, name="Temperature (C)"))
        ws.append(pn.widgets.TextInput.from_param(self.param.circuit, name="Circuit"))
        ws.append(pn.widgets.RadioButtonGroup.from_param(self.param.arrhenius_form, name="Arrhenius form",
                                                         **theme.CHOICE_STYLE))
        ws.append(pn.pane.Markdown("#### What-if: mill physics and model"))
        ws.append(pn.widgets.Select.from_param(self.param.mill, name="Mill"))
        for p, step in (("what_frb_pct", 0.5), ("what_bmr", 1.0), ("what_rpm", 10.0), ("what_time_h", 0.5)):
            b = self.param[p].bounds
            ws.append(throttled(self, p, pn.widgets.FloatSlider, start=b[0], end=b[1], step=step))
        ws.append(pn.widgets.Select.from_param(self.param.ball_diameter_mm, name="Ball diameter (mm)"))
        ws.append(pn.widgets.Select.from_param(self.param.ball_material, name="Ball material"))
        ws.append(pn.widgets.Select.from_param(self.param.jar_volume_ml, name="Jar volume (mL)"))
        return ws

    def controls(self):
        """Sidebar controls."""
        return pn.Column(*self._widgets, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ views
    # Each plot is a DynamicMap whose callback depends only on what it shows and returns bare clones of
    # the styled prototypes above. The trends are split into a layer of every pellet (changes with the
    # dataset, state or analysis only) and a small layer following the selection. No frame adds or drops
    # Bokeh models (fixed legend labels, same elements every frame), so a move only sends new data,
    # text and ranges. An analysis error (e.g. a circuit typed wrong) shows in the read-out; the
    # plots then show no data.
    @param.depends(*SELECTION, "temperature_C", *ANALYSIS)
    def readout(self):
        """Numbers of the selected pellet (conductivity, Ea, fit quality)."""
        sid = self.sample
        if sid is None:
            return pn.pane.Markdown(
                "**No pellet was measured with these settings.** Move a slider to a measured sample.",
                css_classes=["ssb-readout"], sizing_mode="stretch_width")
        T_K = self._T_K()
        try:
            n = compute.pellet_numbers(self.dataset, self.circuit, self.arrhenius_form, sid, T_K)
            fit = compute.spectrum_view(self.dataset, sid, T_K, self.circuit)
        except SSBError as exc:
            return pn.pane.Alert(f"**Analysis failed:** {exc}", alert_type="danger", css_classes=["ssb-readout"],
                                 sizing_mode="stretch_width")
        form = "σT" if self.arrhenius_form == "sigmaT" else "σ"
        md = (
            f"**Sample** `{sid}`  \n"
            f"**σ({self.temperature_C:g} °C)** = {n['sigma'] * 1e3:.2f} ± {n['sigma_stderr'] * 1e3:.2f} mS/cm"
            f" (R = {n['R']:.3f} ± {n['R_stderr']:.3f} Ω)  \n"
            f"**Eₐ** = {n['Ea']:.3f} ± {n['Ea_stderr']:.1g} eV ({form} form)  \n"
            f"**σ(25 °C), measured** = {n['sigma_25C'] * 1e3:.2f} mS/cm"
            + (f"; **unit-cell volume** = {n['cell']:.1f} Å³" if np.isfinite(n["cell"]) else "") + "  \n"
            f"live fit `{self.circuit}`: χ² = {fit['chi2']:.3g}, "
            f"{'converged' if fit['success'] else 'FAILED: ' + fit['message']}"
        )
        return pn.pane.Markdown(md, css_classes=["ssb-readout"], sizing_mode="stretch_width")

    def _T_K(self) -> float:
        return float(self.temperature_C) + 273.15

    def _spectrum(self, sid: str | None) -> dict:
        if sid is None:
            return _NO_SPECTRUM
        try:
            return compute.spectrum_view(self.dataset, sid, self._T_K(), self.circuit)
        except SSBError:  # reported by the read-out
            return _NO_SPECTRUM

    @param.depends(*SELECTION, "temperature_C", "circuit")
    def nyquist(self):
        """Nyquist plot of the selected spectrum with the live fit."""
        sid = self.sample
        v = self._spectrum(sid)
        title = (f"Nyquist: {sid}, {self.temperature_C:g} °C" if sid is not None
                 else "Nyquist: no pellet measured with these settings")
        return hv.Overlay([_el(_NYQ_DATA, v["zr"], v["mzi"], label="data"),
                           _el(_NYQ_FIT, v["fr"], v["mfi"], label="fit")], label=title)

    @param.depends(*SELECTION, "temperature_C", "circuit")
    def nyquist_hf(self):
        """High-frequency part of the Nyquist plot, where the pellet resistance is read."""
        v = self._spectrum(self.sample)
        k, r = v["keep"], v["r"]
        title = f"HF intercept R = {r:.3g} Ω" if np.isfinite(r) else "HF intercept: no pellet"
        return hv.Overlay([_el(_NYQ_DATA, v["zr"][k], v["mzi"][k], label="data"),
                           _el(_NYQ_FIT, v["fr"][k], v["mfi"][k], label="fit"),
                           _el(_HF_R, np.array([r]) if np.isfinite(r) else np.zeros(0))], label=title)

    @param.depends(*SELECTION, "temperature_C", "circuit")
    def bode_modulus(self):
        """Bode |Z| of the selected spectrum with the live fit."""
        v = self._spectrum(self.sample)
        return hv.Overlay([_el(_BODE_MOD, v["freq"], v["absz"], label="|Z|"),
                           _el(_BODE_FIT, v["freq"], v["absf"], label="fit")])

    @param.depends(*SELECTION, "temperature_C", "circuit")
    def bode_phase(self):
        """Bode phase of the selected spectrum with the live fit."""
        v = self._spectrum(self.sample)
        return hv.Overlay([_el(_BODE_PH, v["freq"], v["ph"], label="-phase"),
                           _el(_BODE_FIT, v["freq"], v["phf"], vdims=["-phase (°)"], label="fit")])

    @param.depends(*SELECTION, "temperature_C", "circuit")
    def bode(self):
        """Bode plot (|Z| and phase) of the selected spectrum with the live fit."""
        return (self.bode_modulus() + self.bode_phase()).opts(shared_axes=False)

    @param.depends(*SELECTION, *ANALYSIS)
    def arrhenius(self):
        """Arrhenius plot of the selected pellet with its fit."""
        sid = self.sample
        ylab = "log10(σT / S cm⁻¹ K)" if self.arrhenius_form == "sigmaT" else "log10(σ / S cm⁻¹)"
        if sid is None:
            x = y = xl = yl = np.zeros(0)
            title = "Arrhenius: no pellet"
        else:
            try:
                a = compute.arrhenius_view(self.dataset, self.circuit, self.arrhenius_form, sid)
                x, y, xl, yl = a["x"], a["y"], a["xl"], a["yl"]
                title = f"Arrhenius fit: Ea = {a['Ea']:.3f} eV"
            except SSBError:  # reported by the read-out
                x = y = xl = yl = np.zeros(0)
                title = "Arrhenius: analysis failed"
        # fixed legend labels (a changing label would rebuild the legend's Bokeh models on every move)
        return hv.Overlay([_el(_ARR_DATA, x, y, vdims=[ylab], label="measured"),
                           _el(_ARR_FIT, xl, yl, vdims=[ylab], label="fit")], label=title)

    def _trend_axes(self) -> list[str]:
        """Milling parameters (or composition) with more than one measured value in the dataset."""
        ds = data.load(self.dataset)
        axes = [p for p in (*DESCRIPTORS, "composition") if len(self.param[p].objects) > 1]
        if "nb_x" in ds.coords and "composition" in axes:
            axes = ["nb_x" if p == "composition" else p for p in axes]
        return [p for p in axes if p != "mass_mg"] or axes

    def _series(self, p: str, through_selection: bool = True) -> dict:
        """Pellets along parameter ``p`` (cached): with the other parameters held at the selection, or
        (``through_selection=False``) every pellet in the selected state."""
        held = [q for q in (*DESCRIPTORS, "state") if q != p] if through_selection else ["state"]
        held = tuple((q, getattr(self, q)) for q in held if getattr(self, q, None) is not None)
        try:
            return compute.trend_series(self.dataset, self.circuit, self.arrhenius_form, p, held)
        except SSBError:  # reported by the read-out
            e = np.zeros(0)
            return {"x": e, "sigma": e, "Ea": e, "Ea_stderr": e, "cell": e, "ids": np.zeros(0, str)}

    def _trend_props(self) -> list[str]:
        """Properties plotted against each parameter: σ(25 °C) and Ea, and the unit-cell volume when the
        dataset has structural data (a lattice parameter or cell volume per sample)."""
        from analysis.pellets import unit_cell_volume

        return ["sigma", "ea"] + (["cell"] if unit_cell_volume(data.load(self.dataset)) is not None else [])

    @staticmethod
    def _trend_labels(p: str, prop: str) -> tuple[str, str, str]:
        lab = LABELS.get(p, "Nb content x" if p == "nb_x" else p)
        _, ylab, short = PROPS[prop]
        return lab, ylab, f"{short} vs {lab}"

    @staticmethod
    def _y(s: dict, prop: str) -> np.ndarray:
        """Column of a trend series for property ``prop``."""
        return s[PROPS[prop][0]]

    def _trend_data(self, p: str, prop: str):
        """Every pellet of the selected state against ``p`` (changes only with dataset, state, analysis)."""
        s = self._series(p, through_selection=False)
        lab, ylab, title = self._trend_labels(p, prop)
        y = self._y(s, prop)
        pts = _TREND_PTS[prop].clone({lab: s["x"], ylab: y, "pellet": s["ids"]}, kdims=[lab],
                                     vdims=[ylab, "pellet"], label=title)
        if prop != "ea":  # only Ea has error bars (σ(25 °C) errors are below the marker size)
            return hv.Overlay([pts])
        return hv.Overlay([_el(_TREND_ERR, s["x"], y, s["Ea_stderr"], kdims=[lab], vdims=[ylab, "err"],
                                            label=title), pts])

    def _trend_proto(self, kind: str, p: str, prop: str):
        """The styled template of the series line (``kind="line"``) or the selection diamond
        (``"mark"``) of one trend plot, with its axes and title set (made once per process and plot,
        so a move only puts the data in)."""
        def build():
            lab, ylab, title = self._trend_labels(p, prop)
            base = _TREND_LINE[prop] if kind == "line" else _TREND_MARK
            return base.clone(kdims=[lab], vdims=[ylab], label=title)

        return _frames(("proto", kind, p, prop), build)

    def _trend_line(self, p: str, prop: str):
        """The series along ``p`` with the other parameters held at the selection (a line)."""
        s = self._series(p)
        return _el(self._trend_proto("line", p, prop), s["x"], self._y(s, prop))

    def _trend_selection(self, p: str, prop: str):
        """The selected pellet on the series along ``p`` (a diamond; empty when not measured)."""
        s = self._series(p)
        i = np.flatnonzero(s["ids"] == self.sample) if self.sample is not None else np.zeros(0, int)
        return _el(self._trend_proto("mark", p, prop), s["x"][i], self._y(s, prop)[i])

    def _trend_marker(self, p: str, prop: str):
        """The series through the selection (other parameters held) and the selected pellet (a diamond)."""
        return hv.Overlay([self._trend_line(p, prop), self._trend_selection(p, prop)])

    def _trend(self, p: str, prop: str):
        """σ(25 °C), Ea or unit-cell volume against parameter ``p``; the series through the selection and
        the selection marked."""
        return self._trend_data(p, prop) * self._trend_marker(p, prop)

    @param.depends(*SELECTION, *ANALYSIS)
    def trends(self):
        """σ(25 °C), Ea (and unit-cell volume) against each milling parameter (other parameters held),
        selection marked: a row per parameter, a column per property."""
        props = self._trend_props()
        plots = [self._trend(p, prop) for p in self._trend_axes() for prop in props]
        if not plots:
            return hv.Div("<p>No series through the current selection.</p>")
        return hv.Layout(plots).cols(len(props)).opts(shared_axes=False)

    def _trend_frame(self, p: str, prop: str) -> hv.Overlay:
        """One frame of a live trend plot: the pellets (kept while dataset, state and analysis are
        unchanged), the series line (kept while the *other* milling parameters are: a BMR move does
        not rebuild the line along BMR) and the selected pellet (rebuilt on every selection change).
        The kept layers are shared by all sessions (:func:`_frames`): a new session showing the
        trends builds only the selection.
        One DynamicMap per plot; three overlaid DynamicMaps cost more in HoloViews' overlay
        bookkeeping than the elements they save."""
        analysis = (data.revision(self.dataset), *(getattr(self, q) for q in ("dataset", *ANALYSIS)))
        data_ = _frames(("data", p, prop, self.state, *analysis), lambda: self._trend_data(p, prop))
        held = tuple(getattr(self, q) for q in (*DESCRIPTORS, "state") if q != p)
        line = _frames(("line", p, prop, *held, *analysis), lambda: self._trend_line(p, prop))
        return hv.Overlay([*data_, line, self._trend_selection(p, prop)])

    def _trend_dmap(self, p: str, prop: str) -> hv.DynamicMap:
        """Live trend plot (see :meth:`_trend_frame`)."""
        return hv.DynamicMap(lambda p=p, prop=prop, **_: self._trend_frame(p, prop),
                             streams=[hv.streams.Params(self, [*SELECTION, *ANALYSIS])])

    @param.depends("dataset")
    def trends_section(self):
        """One live plot per parameter (rows) and property (columns), rebuilt only when the dataset changes."""
        props = self._trend_props()
        panes = [_pane(self._trend_dmap(p, prop)) for p in self._trend_axes() for prop in props]
        return pn.GridBox(*panes, ncols=len(props), sizing_mode="stretch_width")

    @staticmethod
    def trends_legend():
        """What the marks of the trend plots are (one line above them instead of in every title)."""
        return pn.pane.Markdown(
            "Points: every pellet in the selected state · line: the series through the selection (the other "
            "milling parameters held) · ◆ the selected pellet", margin=(0, 10), sizing_mode="stretch_width")

    def _physics(self):
        return compute.mill_physics(self.mill, float(self.jar_volume_ml), float(self.what_rpm),
                                    float(self.ball_diameter_mm), str(self.ball_material),
                                    float(self.what_frb_pct), float(self.what_bmr), float(self.what_time_h))

    def _model(self, prop: str):
        try:
            return compute.property_model(self.dataset, self.circuit, self.arrhenius_form, prop, self.state)
        except (SSBError, KeyError, ValueError) as exc:
            return str(exc)

    @param.depends("dataset", "state", *ANALYSIS, "mill", "what_frb_pct", "what_bmr",
                   "what_rpm", "what_time_h", "ball_diameter_mm", "ball_material", "jar_volume_ml")
    def whatif_readout(self):
        """Mill physics at the what-if settings and the model's estimate there (clearly labelled)."""
        phys = self._physics()
        if isinstance(phys, str):
            lines = [f"**Mill settings impossible:** {phys}"]
        else:
            dose = phys.dose_J_per_g
            lines = [
                f"**Mill physics** ({self.mill}, {self.jar_volume_ml:g} mL jar, {int(phys.n_balls)} × "
                f"{self.ball_diameter_mm:g} mm {self.ball_material} balls): "
                f"g-force **{phys.g_force:.1f} g**, energy per impact **{phys.energy_per_impact_J * 1e3:.1f} mJ**, "
                f"impact frequency **{phys.impact_frequency_Hz:.1f} Hz**, power **{phys.power_W:.2f} W**"
                + (f", dose **{dose / 1e3:.0f} kJ/g**" if dose is not None else "")
            ]
        parts = []
        for prop, unit, fmt in (("sigma_25C", "mS/cm", "{:.2f}"), ("Ea", "eV", "{:.3f}")):
            m = self._model(prop)
            if isinstance(m, str):
                parts.append(f"{prop}: no model ({m})")
                continue
            mean, lo, hi = compute.model_estimate(self.dataset, self.circuit, self.arrhenius_form, prop, self.state,
                                                  float(self.what_frb_pct), float(self.what_bmr))
            name = "σ(25 °C)" if prop == "sigma_25C" else "Eₐ"
            parts.append(f"{name} = {fmt.format(mean)} {unit} (2σ band {fmt.format(lo)}–{fmt.format(hi)})")
        n = self._model("sigma_25C")
        n_s = int(n.X_train.shape[0]) if not isinstance(n, str) else 0
        lines.append(f"**Model estimate, not a measurement** (Gaussian process on {n_s} measured "
                     f"{self.state or ''} samples, at FRB {self.what_frb_pct:g} %, BMR {self.what_bmr:g}:1): "
                     + "; ".join(parts))
        return pn.pane.Markdown("  \n".join(lines), css_classes=["ssb-model-readout"], sizing_mode="stretch_width")

    def _map_mesh(self, which: str):
        m = self._model("sigma_25C")
        o = dict(logy=True, colorbar=True, cmap=theme.SEQUENTIAL, tools=["hover"], responsive=True, height=340)
        if isinstance(m, str):
            return hv.QuadMesh(([1.0, 2.0], [1.0, 2.0], np.full((2, 2), np.nan)), ["FRB (%)", "BMR (x:1)"]).opts(
                title=f"No structure-property model: {m}"[:90], **o)
        grid = compute.model_map(self.dataset, self.circuit, self.arrhenius_form, "sigma_25C", self.state, n=_MAP_N)
        x, y = grid["frb_pct"].values, grid["bmr"].values
        if which == "value":
            z, label, title, cmap = grid["value"].values.T, "σ(25 °C) model (mS/cm)", "Model estimate of σ(25 °C) (mS/cm)", theme.SEQUENTIAL
        else:
            z = ((grid["upper"] - grid["lower"]) / (2 * grid["value"])).values.T * 100
            label, title, cmap = "half 2σ band (%)", "Model uncertainty (half 2σ band, %)", "Greys"
        pts = hv.Points((m.X_train[:, m.descriptors.index("frb_pct")], m.X_train[:, m.descriptors.index("bmr")]),
                        ["FRB (%)", "BMR (x:1)"], label="measured").opts(color="white", line_color="black", size=9)
        return hv.QuadMesh((x, y, z), ["FRB (%)", "BMR (x:1)"], label).opts(title=title, **{**o, "cmap": cmap}) * pts

    @param.depends("dataset", "state", *ANALYSIS)
    def model_map(self):
        """Model estimate of σ(25 °C) over FRB × BMR with the measured samples (static per model)."""
        return self._map_mesh("value")

    @param.depends("dataset", "state", *ANALYSIS)
    def model_uncertainty(self):
        """Relative half-width of the model's 2σ band over FRB × BMR."""
        return self._map_mesh("std")

    @param.depends("what_frb_pct", "what_bmr")
    def whatif_marker(self):
        """The what-if point on the model maps (a separate layer: moving it does not resend the maps)."""
        return _el(_WHATIF, [float(self.what_frb_pct)], [float(self.what_bmr)])

    def main_view(self):
        """Main area: read-out above the sections (tabs: selected pellet, Bode plots, trends, what-if)."""
        pellet = pn.Row(_pane(hv.DynamicMap(self.nyquist)), _pane(hv.DynamicMap(self.nyquist_hf)),
                        _pane(hv.DynamicMap(self.arrhenius)), sizing_mode="stretch_width")
        bode = pn.Row(_pane(hv.DynamicMap(self.bode_modulus)), _pane(hv.DynamicMap(self.bode_phase)),
                      sizing_mode="stretch_width")
        whatif = pn.Column(
            live(self.whatif_readout, shown=("section", "whatif")),
            pn.Row(_pane(hv.DynamicMap(self.model_map) * hv.DynamicMap(self.whatif_marker)),
                   _pane(hv.DynamicMap(self.model_uncertainty) * hv.DynamicMap(self.whatif_marker)),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown("## Synthesis explorer\nMilling parameters → pellet impedance, conductivity "
                             "and activation energy. Sample data are **synthetic** (they reproduce studies S1 and S5)."),
            live(self.readout),
            sections(self, "section", {
                "pellet": (SECTIONS["pellet"], pellet),
                "bode": (SECTIONS["bode"], bode),
                "trends": (SECTIONS["trends"], pn.Column(self.trends_legend(), pn.panel(
                    self.trends_section, sizing_mode="stretch_width"), sizing_mode="stretch_width")),
                "whatif": (SECTIONS["whatif"], whatif)}),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=320), self.main_view(), sizing_mode="stretch_width")


def _pane(obj) -> pn.pane.HoloViews:
    """A plot pane that stretches and keeps its axes to itself."""
    return pn.pane.HoloViews(obj, sizing_mode="stretch_width", linked_axes=False)
