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

    def __init__(self, dataset: str | None = None, **params):
        super().__init__(**params)
        self.param.dataset.objects = data.names("pellet_eis")
        self.dataset = dataset or (self.param.dataset.objects[0] if self.param.dataset.objects else None)
        self._on_dataset()
        self._widgets = self._make_widgets()

    # ------------------------------------------------------------------ state
    def url_params(self) -> list[str]:
        """Parameters that go into a shared URL."""
        return ["dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "temperature_C",
                "circuit", "arrhenius_form"]

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
        self.param.update(**upd)
        if "circuit" in ds.attrs:
            self.circuit = ds.attrs["circuit"]

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
            if self.param[p].objects:
                ws.append(throttled(self, p, pn.widgets.DiscreteSlider, name=self.param[p].label))
        ws.append(pn.widgets.RadioButtonGroup.from_param(self.param.state, name="State"))
        if len(self.param.composition.objects) > 1:
            ws.append(throttled(self, "composition", pn.widgets.DiscreteSlider, name="Composition"))
        ws.append(throttled(self, "temperature_C", pn.widgets.DiscreteSlider, name="Temperature (C)"))
        ws.append(pn.widgets.TextInput.from_param(self.param.circuit, name="Circuit"))
        ws.append(pn.widgets.RadioButtonGroup.from_param(self.param.arrhenius_form, name="Arrhenius form"))
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
        opts = dict(xlabel="Z' (Ω)", ylabel="-Z'' (Ω)", data_aspect=None, **theme.PLOT_OPTS)
        if sid is None:
            return (hv.Scatter([], "Z'", "-Z''", label="data") * hv.Curve([], "Z'", "-Z''", label="fit")).opts(
                hv.opts.Scatter(**opts), hv.opts.Curve(**opts))
        freq, Z, fit = compute.spectrum_fit(self.dataset, sid, self._T_K(), self.circuit)
        pts = hv.Scatter((Z.real, -Z.imag), "Z'", "-Z''", label="data").opts(
            color=theme.OKABE_ITO[0], size=6, **opts)
        zf = np.asarray(fit.Z_fit) if fit.success else np.full_like(Z, np.nan)
        line = hv.Curve((zf.real, -zf.imag), "Z'", "-Z''", label="fit").opts(color=theme.OKABE_ITO[3], line_width=2)
        return (pts * line).opts(title=f"Nyquist: {sid}, {self.temperature_C:g} °C", legend_position="top_left")

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

    @param.depends("dataset", "frb_pct", "bmr", "mass_mg", "state", "composition", "circuit", "arrhenius_form")
    def trends(self):
        """σ(25 °C) and Ea against each milling parameter (other parameters held), selection marked."""
        cond, arr = self._results()
        ds = data.load(self.dataset)
        plots = []
        axes = [p for p in (*DESCRIPTORS, "composition") if len(self.param[p].objects) > 1]
        if "nb_x" in ds.coords and "composition" in axes:
            axes = ["nb_x" if p == "composition" else p for p in axes]
        for p in axes:
            mask = np.ones(ds.sizes["sample"], bool)
            for q in (*DESCRIPTORS, "state"):
                if q == p or getattr(self, q, None) is None or q not in ds.coords:
                    continue
                v = ds[q].values
                mask &= (np.isclose(v.astype(float), float(getattr(self, q))) if v.dtype.kind in "fiu"
                         else v.astype(str) == str(getattr(self, q)))
            if mask.sum() < 2:
                continue
            x = ds[p].values[mask].astype(float)
            order = np.argsort(x)
            sig = arr["sigma_25C"].values[mask][order] * 1e3
            ea = arr["Ea"].values[mask][order]
            eae = arr["Ea_stderr"].values[mask][order]
            xs = x[order]
            lab = LABELS.get(p, "Nb content x" if p == "nb_x" else p)
            sel = self.sample
            cur = [i for i, s in enumerate(ds["sample"].values[mask][order]) if s == sel]
            s_plot = (hv.Curve((xs, sig), lab, "σ(25 °C) (mS/cm)").opts(color=theme.OKABE_ITO[0])
                      * hv.Scatter((xs, sig), lab, "σ(25 °C) (mS/cm)").opts(color=theme.OKABE_ITO[0], size=7))
            e_plot = (hv.Curve((xs, ea), lab, "Ea (eV)").opts(color=theme.OKABE_ITO[1])
                      * hv.ErrorBars((xs, ea, eae), lab, ["Ea (eV)", "err"]).opts(color=theme.OKABE_ITO[1]))
            if cur:
                i = cur[0]
                s_plot = s_plot * hv.Scatter([(xs[i], sig[i])], lab, "σ(25 °C) (mS/cm)").opts(
                    color=theme.OKABE_ITO[3], size=14, marker="diamond")
                e_plot = e_plot * hv.Scatter([(xs[i], ea[i])], lab, "Ea (eV)").opts(
                    color=theme.OKABE_ITO[3], size=14, marker="diamond")
            plots += [s_plot.opts(title=f"σ vs {lab}", **theme.PLOT_OPTS), e_plot.opts(title=f"Ea vs {lab}", **theme.PLOT_OPTS)]
        if not plots:
            return hv.Div("<p>No series through the current selection.</p>")
        return hv.Layout(plots).cols(2).opts(shared_axes=False)

    def main_view(self):
        """Main area: read-outs, Nyquist/Bode, Arrhenius, trends."""
        return pn.Column(
            pn.pane.Markdown("## Synthesis explorer\nMilling parameters → pellet impedance, conductivity "
                             "and activation energy. Sample data are **synthetic** (they reproduce studies S1 and S5)."),
            self.readout,
            pn.Row(pn.pane.HoloViews(hv.DynamicMap(self.nyquist), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(hv.DynamicMap(self.arrhenius), sizing_mode="stretch_width")),
            pn.pane.HoloViews(hv.DynamicMap(self.bode), sizing_mode="stretch_width"),
            pn.panel(self.trends, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=320), self.main_view(), sizing_mode="stretch_width")
