"""Synthesis explorer (studies S1, S3, S5): milling parameters -> pellet conductivity."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from dashboard import compute, data, theme
from dashboard.widgets import throttled

KB_EV = 8.617333262e-5
DESCRIPTORS = ("frb_pct", "bmr", "mass_mg")
LABELS = {"frb_pct": "FRB (%)", "bmr": "BMR (x:1)", "mass_mg": "pellet mass (mg)"}


class SynthesisExplorer(pn.viewable.Viewer):
    """Pick a pellet by its milling parameters; see its impedance, fit, conductivity and trends."""

    dataset = param.Selector(default=None, objects=[], doc="Pellet dataset (kind pellet_eis).")
    frb_pct = param.Selector(default=None, objects=[], label="Ball filling rate FRB (%)",
                             doc="Filling rate of milling balls (% of the jar volume, solid-ball basis).")
    bmr = param.Selector(default=None, objects=[], label="Ball-to-material ratio (x:1)",
                         doc="Ball-to-material mass ratio.")
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
    what_rpm = param.Number(default=500.0, bounds=(100.0, 1100.0), label="Mill speed (rpm)",
                            doc="Disk speed of the planetary mill in rpm.")
    what_time_h = param.Number(default=16.0, bounds=(0.5, 48.0), label="Milling time (h)",
                               doc="Milling time in hours (sets the cumulative dose).")
    ball_diameter_mm = param.Selector(default=10.0, objects=[3.0, 5.0, 10.0, 15.0, 20.0], label="Ball diameter (mm)",
                                      doc="Diameter of the milling balls in mm.")
    ball_material = param.Selector(default="WC", objects=[], label="Ball material",
                                   doc="Ball material (sets the ball density).")
    jar_volume_ml = param.Selector(default=50.0, objects=[12.0, 20.0, 45.0, 50.0, 80.0, 125.0, 250.0, 500.0],
                                   label="Jar volume (mL)", doc="Jar volume in mL.")

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
        return ["dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "temperature_C",
                "circuit", "arrhenius_form", "mill", "what_frb_pct", "what_bmr", "what_rpm", "what_time_h",
                "ball_diameter_mm", "ball_material", "jar_volume_ml"]

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

    @param.depends("frb_pct", "bmr", watch=True)
    def _what_follows_selection(self):
        """Picking a measured sample moves the what-if sliders to it (compare model and data)."""
        upd = {}
        if self.frb_pct is not None:
            upd["what_frb_pct"] = float(self.frb_pct)
        if self.bmr is not None:
            upd["what_bmr"] = float(self.bmr)
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
        from analysis.pellets import select_sample

        ds = data.load(self.dataset)
        crit = {p: getattr(self, p) for p in (*DESCRIPTORS, "state", "composition")
                if getattr(self, p) is not None}
        return select_sample(ds, **crit)

    def _results(self):
        return compute.pellet_results(self.dataset, self.circuit, self.arrhenius_form)

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self):
        ws = [pn.widgets.Select.from_param(self.param.dataset, name="Dataset")]
        for p in DESCRIPTORS:
            if len(self.param[p].objects) > 1:
                ws.append(throttled(self, p, pn.widgets.DiscreteSlider, name=self.param[p].label))
        ws.append(pn.widgets.RadioButtonGroup.from_param(self.param.state, name="State"))
        if len(self.param.composition.objects) > 1:
            ws.append(throttled(self, "composition", pn.widgets.DiscreteSlider, name="Composition"))
        ws.append(throttled(self, "temperature_C", pn.widgets.DiscreteSlider, name="Temperature (C)"))
        ws.append(pn.widgets.TextInput.from_param(self.param.circuit, name="Circuit"))
        ws.append(pn.widgets.RadioButtonGroup.from_param(self.param.arrhenius_form, name="Arrhenius form"))
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
    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "temperature_C",
                   "circuit", "arrhenius_form")
    def readout(self):
        """Numbers of the selected pellet (conductivity, Ea, fit quality)."""
        sid = self.sample
        if sid is None:
            return pn.pane.Markdown(
                "**No pellet was measured with these settings.** Move a slider to a measured sample.",
                css_classes=["ssb-readout"], sizing_mode="stretch_width")
        cond, arr = self._results()
        T_K = self._T_K()
        c = cond.sel(sample=sid).sel(temperature=T_K, method="nearest")
        a = arr.sel(sample=sid)
        _, _, fit = compute.spectrum_fit(self.dataset, sid, T_K, self.circuit)
        form = "σT" if self.arrhenius_form == "sigmaT" else "σ"
        md = (
            f"**Sample** `{sid}`  \n"
            f"**σ({self.temperature_C:g} °C)** = {float(c['sigma']) * 1e3:.2f} ± {float(c['sigma_stderr']) * 1e3:.2f} mS/cm"
            f" (R = {float(c['R']):.3f} ± {float(c['R_stderr']):.3f} Ω)  \n"
            f"**Eₐ** = {float(a['Ea']):.3f} ± {float(a['Ea_stderr']):.1g} eV ({form} form)  \n"
            f"**σ(25 °C), measured** = {float(a['sigma_25C']) * 1e3:.2f} mS/cm  \n"
            f"live fit `{self.circuit}`: χ² = {fit.chi2:.3g}, {'converged' if fit.success else 'FAILED: ' + fit.message}"
        )
        return pn.pane.Markdown(md, css_classes=["ssb-readout"], sizing_mode="stretch_width")

    def _T_K(self) -> float:
        return float(self.temperature_C) + 273.15

    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "temperature_C", "circuit")
    def nyquist(self):
        """Nyquist plot of the selected spectrum with the live fit."""
        sid = self.sample
        opts = dict(xlabel="Z' (Ω)", ylabel="-Z'' (Ω)", xformatter="%.3g", yformatter="%.3g", **theme.PLOT_OPTS)
        if sid is None:
            return (hv.Scatter([], "Z'", "-Z''", label="data").opts(**opts)
                    * hv.Curve([], "Z'", "-Z''", label="fit"))
        freq, Z, fit = compute.spectrum_fit(self.dataset, sid, self._T_K(), self.circuit)
        pts = hv.Scatter((Z.real, -Z.imag), "Z'", "-Z''", label="data").opts(
            color=theme.OKABE_ITO[0], size=6, **opts)
        zf = np.asarray(fit.Z_fit) if fit.success else np.full_like(Z, np.nan)
        line = hv.Curve((zf.real, -zf.imag), "Z'", "-Z''", label="fit").opts(color=theme.OKABE_ITO[3], line_width=2)
        return (pts * line).opts(title=f"Nyquist: {sid}, {self.temperature_C:g} °C", legend_position="top_left")

    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "temperature_C", "circuit")
    def nyquist_hf(self):
        """High-frequency part of the Nyquist plot, where the pellet resistance is read."""
        sid = self.sample
        opts = dict(xlabel="Z' (Ω)", ylabel="-Z'' (Ω)", xformatter="%.3g", yformatter="%.3g", **theme.PLOT_OPTS)
        if sid is None:
            return hv.Scatter([], "Z'", "-Z''").opts(**opts)
        freq, Z, fit = compute.spectrum_fit(self.dataset, sid, self._T_K(), self.circuit)
        r = float(fit.params.get("R0", np.nanmin(Z.real))) if fit.success else float(np.nanmin(Z.real))
        keep = np.abs(Z - r) <= 4 * max(r, 1e-12)
        zf = np.asarray(fit.Z_fit) if fit.success else np.full_like(Z, np.nan)
        pts = hv.Scatter((Z.real[keep], -Z.imag[keep]), "Z'", "-Z''", label="data").opts(
            color=theme.OKABE_ITO[0], size=6, **opts)
        line = hv.Curve((zf.real[keep], -zf.imag[keep]), "Z'", "-Z''", label="fit").opts(color=theme.OKABE_ITO[3], line_width=2)
        mark = hv.VLine(r).opts(color=theme.OKABE_ITO[2], line_dash="dashed")
        return (pts * line * mark).opts(title=f"HF intercept R = {r:.3g} Ω", legend_position="top_left")

    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "temperature_C", "circuit")
    def bode(self):
        """Bode plot (|Z| and phase) of the selected spectrum with the live fit."""
        sid = self.sample
        if sid is None:
            return hv.Curve([], "f (Hz)", "|Z| (Ω)")
        freq, Z, fit = compute.spectrum_fit(self.dataset, sid, self._T_K(), self.circuit)
        zf = np.asarray(fit.Z_fit) if fit.success else np.full_like(Z, np.nan)
        o = dict(logx=True, **theme.PLOT_OPTS)
        mod = (hv.Scatter((freq, np.abs(Z)), "f (Hz)", "|Z| (Ω)", label="|Z|").opts(color=theme.OKABE_ITO[0], size=5, logy=True, **o)
               * hv.Curve((freq, np.abs(zf)), "f (Hz)", "|Z| (Ω)", label="fit").opts(color=theme.OKABE_ITO[3]))
        ph = (hv.Scatter((freq, -np.degrees(np.angle(Z))), "f (Hz)", "-phase (°)", label="-phase").opts(color=theme.OKABE_ITO[2], size=5, **o)
              * hv.Curve((freq, -np.degrees(np.angle(zf))), "f (Hz)", "-phase (°)").opts(color=theme.OKABE_ITO[3]))
        return (mod + ph).opts(shared_axes=False)

    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "circuit", "arrhenius_form")
    def arrhenius(self):
        """Arrhenius plot of the selected pellet with its fit."""
        sid = self.sample
        ylab = "log10(σT / S cm⁻¹ K)" if self.arrhenius_form == "sigmaT" else "log10(σ / S cm⁻¹)"
        if sid is None:
            return hv.Scatter([], "1000/T (1/K)", ylab)
        cond, arr = self._results()
        T = cond["temperature"].values
        s = cond["sigma"].sel(sample=sid).values
        y = np.log10(s * T) if self.arrhenius_form == "sigmaT" else np.log10(s)
        a = arr.sel(sample=sid)
        Tl = np.linspace(T.min(), T.max(), 50)
        yl = float(a["log10_prefactor"]) - float(a["Ea"]) / (KB_EV * Tl * np.log(10))
        pts = hv.Scatter((1000 / T, y), "1000/T (1/K)", ylab, label="measured").opts(color=theme.OKABE_ITO[0], size=7, **theme.PLOT_OPTS)
        line = hv.Curve((1000 / Tl, yl), "1000/T (1/K)", ylab, label=f"Ea = {float(a['Ea']):.3f} eV").opts(color=theme.OKABE_ITO[3])
        return (pts * line).opts(title="Arrhenius", legend_position="top_right")

    def _trend_axes(self) -> list[str]:
        """Milling parameters (or composition) with more than one measured value in the dataset."""
        ds = data.load(self.dataset)
        axes = [p for p in (*DESCRIPTORS, "composition") if len(self.param[p].objects) > 1]
        if "nb_x" in ds.coords and "composition" in axes:
            axes = ["nb_x" if p == "composition" else p for p in axes]
        return [p for p in axes if p != "mass_mg"] or axes

    def _series(self, p: str):
        """Samples along parameter ``p`` with the other parameters held at the selection."""
        cond, arr = self._results()
        ds = data.load(self.dataset)
        mask = np.ones(ds.sizes["sample"], bool)
        for q in (*DESCRIPTORS, "state"):
            if q == p or getattr(self, q, None) is None or q not in ds.coords:
                continue
            v = ds[q].values
            mask &= (np.isclose(v.astype(float), float(getattr(self, q))) if v.dtype.kind in "fiu"
                     else v.astype(str) == str(getattr(self, q)))
        x = ds[p].values[mask].astype(float)
        order = np.argsort(x)
        ids = ds["sample"].values[mask][order]
        return (x[order], arr["sigma_25C"].values[mask][order] * 1e3, arr["Ea"].values[mask][order],
                arr["Ea_stderr"].values[mask][order], [i for i, s_ in enumerate(ids) if s_ == self.sample])

    def _trend(self, p: str, prop: str):
        """σ(25 °C) or Ea against parameter ``p``; the current selection as a red diamond."""
        lab = LABELS.get(p, "Nb content x" if p == "nb_x" else p)
        x, sig, ea, eae, cur = self._series(p)
        if prop == "sigma":
            y, ylab, col = sig, "σ(25 °C) (mS/cm)", theme.OKABE_ITO[0]
            el = hv.Curve((x, y), lab, ylab).opts(color=col) * hv.Scatter((x, y), lab, ylab).opts(color=col, size=7)
        else:
            y, ylab, col = ea, "Ea (eV)", theme.OKABE_ITO[1]
            el = hv.Curve((x, y), lab, ylab).opts(color=col) * hv.ErrorBars((x, y, eae), lab, [ylab, "err"]).opts(color=col)
        mark = hv.Scatter([(x[cur[0]], y[cur[0]])] if cur else [], lab, ylab).opts(
            color=theme.OKABE_ITO[3], size=14, marker="diamond")
        note = "" if len(x) > 1 else " (no series through the selection)"
        return (el * mark).opts(title=f"{'σ' if prop == 'sigma' else 'Ea'} vs {lab}{note}", **theme.PLOT_OPTS)

    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "circuit", "arrhenius_form")
    def trends(self):
        """σ(25 °C) and Ea against each milling parameter (other parameters held), selection marked."""
        plots = [self._trend(p, prop) for p in self._trend_axes() for prop in ("sigma", "ea")]
        if not plots:
            return hv.Div("<p>No series through the current selection.</p>")
        return hv.Layout(plots).cols(2).opts(shared_axes=False)

    @param.depends("dataset")
    def trends_section(self):
        """One live plot (DynamicMap) per parameter and property, rebuilt only when the dataset changes."""
        panes = []
        for p in self._trend_axes():
            for prop in ("sigma", "ea"):
                fn = (lambda p=p, prop=prop, **_: self._trend(p, prop))  # noqa: E731
                panes.append(pn.pane.HoloViews(hv.DynamicMap(fn, streams=[hv.streams.Params(
                    self, ["dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "circuit", "arrhenius_form"])]),
                    sizing_mode="stretch_width", linked_axes=False))
        return pn.GridBox(*panes, ncols=2, sizing_mode="stretch_width")

    def _state_for_model(self) -> str | None:
        return self.state if self.state is not None else None

    def _physics(self):
        return compute.mill_physics(self.mill, float(self.jar_volume_ml), float(self.what_rpm),
                                    float(self.ball_diameter_mm), str(self.ball_material),
                                    float(self.what_frb_pct), float(self.what_bmr), float(self.what_time_h))

    def _model(self, prop: str):
        from analysis.errors import SSBError

        try:
            return compute.property_model(self.dataset, self.circuit, self.arrhenius_form, prop, self.state)
        except (SSBError, KeyError, ValueError) as exc:
            return str(exc)

    @param.depends("dataset", "state", "circuit", "arrhenius_form", "mill", "what_frb_pct", "what_bmr",
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
        X = {"frb_pct": [float(self.what_frb_pct)], "bmr": [float(self.what_bmr)]}
        parts = []
        for prop, unit, fmt in (("sigma_25C", "mS/cm", "{:.2f}"), ("Ea", "eV", "{:.3f}")):
            m = self._model(prop)
            if isinstance(m, str):
                parts.append(f"{prop}: no model ({m})")
                continue
            mean, lo, hi = m.predict_interval(X, k=2.0)
            name = "σ(25 °C)" if prop == "sigma_25C" else "Eₐ"
            parts.append(f"{name} = {fmt.format(float(mean[0]))} {unit} "
                         f"(2σ band {fmt.format(float(lo[0]))}–{fmt.format(float(hi[0]))})")
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
        grid = compute.model_map(self.dataset, self.circuit, self.arrhenius_form, "sigma_25C", self.state)
        x, y = grid["frb_pct"].values, grid["bmr"].values
        if which == "value":
            z, label, title, cmap = grid["value"].values.T, "σ(25 °C) model (mS/cm)", "Model estimate of σ(25 °C) (mS/cm)", theme.SEQUENTIAL
        else:
            z = ((grid["upper"] - grid["lower"]) / (2 * grid["value"])).values.T * 100
            label, title, cmap = "half 2σ band (%)", "Model uncertainty (half 2σ band, %)", "Greys"
        pts = hv.Points((m.X_train[:, m.descriptors.index("frb_pct")], m.X_train[:, m.descriptors.index("bmr")]),
                        ["FRB (%)", "BMR (x:1)"], label="measured").opts(color="white", line_color="black", size=9)
        return hv.QuadMesh((x, y, z), ["FRB (%)", "BMR (x:1)"], label).opts(title=title, **{**o, "cmap": cmap}) * pts

    @param.depends("dataset", "state", "circuit", "arrhenius_form")
    def model_map(self):
        """Model estimate of σ(25 °C) over FRB × BMR with the measured samples (static per model)."""
        return self._map_mesh("value")

    @param.depends("dataset", "state", "circuit", "arrhenius_form")
    def model_uncertainty(self):
        """Relative half-width of the model's 2σ band over FRB × BMR."""
        return self._map_mesh("std")

    @param.depends("what_frb_pct", "what_bmr")
    def whatif_marker(self):
        """The what-if point on the model maps (a separate layer: moving it does not resend the maps)."""
        return hv.Points([(float(self.what_frb_pct), float(self.what_bmr))], ["FRB (%)", "BMR (x:1)"],
                         label="what-if").opts(color=theme.OKABE_ITO[3], marker="x", size=16, line_width=3)

    def main_view(self):
        """Main area: read-outs, Nyquist/Bode, Arrhenius, trends."""
        return pn.Column(
            pn.pane.Markdown("## Synthesis explorer\nMilling parameters → pellet impedance, conductivity "
                             "and activation energy. Sample data are **synthetic** (they reproduce studies S1 and S5)."),
            self.readout,
            pn.Row(pn.pane.HoloViews(hv.DynamicMap(self.nyquist), sizing_mode="stretch_width", linked_axes=False),
                   pn.pane.HoloViews(hv.DynamicMap(self.nyquist_hf), sizing_mode="stretch_width", linked_axes=False),
                   pn.pane.HoloViews(hv.DynamicMap(self.arrhenius), sizing_mode="stretch_width")),
            pn.pane.HoloViews(hv.DynamicMap(self.bode), sizing_mode="stretch_width"),
            pn.panel(self.trends_section, sizing_mode="stretch_width"),
            pn.pane.Markdown("### What-if: mill physics and structure-property model"),
            self.whatif_readout,
            pn.Row(
                pn.pane.HoloViews(hv.DynamicMap(self.model_map) * hv.DynamicMap(self.whatif_marker),
                                  sizing_mode="stretch_width", linked_axes=False),
                pn.pane.HoloViews(hv.DynamicMap(self.model_uncertainty) * hv.DynamicMap(self.whatif_marker),
                                  sizing_mode="stretch_width", linked_axes=False)),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=320), self.main_view(), sizing_mode="stretch_width")
