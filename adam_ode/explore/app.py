r"""The browser app of ``adam-ode explore``: Panel widgets and Bokeh figures over the model.

One :class:`Explorer` per browser session. Every control change reads all controls, validates
them with the records' own checks (:func:`~adam_ode.explore.model.build_record`): an error is
shown beside the widget that caused it and the last good view stays. Valid controls are computed
by :func:`adam_ode.runners.explore.compute_view` on one worker thread shared by the sessions
(the numba kernels of the Monte Carlo stay warm in the server process; parallel kernels must not
run from two threads at once), and the result is drawn on the session's next tick by replacing
the data of the figures' ``ColumnDataSource``\ s (no new figures: a redraw sends arrays only).
A computation requested while another runs supersedes it (only the newest is drawn).
"""

from __future__ import annotations

import concurrent.futures
import io
import logging
import math
import time
from functools import partial

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from .._validation import ParameterError
from ..experiments import load_config
from ..optimizers import OPTIMIZERS
from ..problems import make_problem
from ..runners import explore as view_runner
from . import model

__all__ = ["Explorer", "create_app", "COMPILING_NOTE"]

LOG = logging.getLogger("adam_ode.explore")
# One computation at a time, whatever the number of sessions (see the module docstring).
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="explore")
COMPILING_NOTE = ("Compiling the numba kernels on first use (a cold cache takes a few seconds "
                  "per optimizer; later views redraw at once)…")
COLORS = view_runner.COLORS
N_LEVELS = 14  # contour levels
FIG_SIZE = 460
LOG_SLIDER_STEP = 0.01  # the γ slider moves log10 γ by this


def _one_line(err) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _widget(cls, text, **params):
    """A widget labelled ``text``: ``label`` where the installed Panel has it (it deprecates
    ``name`` from 1.9), else ``name``."""
    key = "label" if "label" in cls.param else "name"
    return cls(**{key: text}, **params)


def contour_lines(xs, ys, F, levels: int = N_LEVELS):
    """(xs, ys) lists of the contour lines of F on the grid (contourpy, Bokeh's dependency)."""
    import contourpy

    finite = F[np.isfinite(F)]
    if finite.size == 0:
        return [], []
    lo, hi = np.quantile(finite, [0.0, 0.9])
    gen = contourpy.contour_generator(xs, ys, F, line_type="Separate")
    lx, ly = [], []
    for level in np.linspace(lo, hi, levels + 2)[1:-1]:
        for line in gen.lines(level):
            lx.append(line[:, 0])
            ly.append(line[:, 1])
    return lx, ly


class Side:
    """One optimizer's controls: the choice, its hyperparameter widgets (from the record's
    fields), an error line beside each and the notes (warnings, what cannot be drawn)."""

    def __init__(self, app: "Explorer", index: int, name: str, values: dict | None = None):
        self.app = app
        self.index = index
        self.select = _widget(pn.widgets.Select, "Optimizer" if index == 0 else "Second optimizer",
                                        options=model.optimizer_choices(), value=name,
                                        css_classes=[f"ex-optimizer-{index}"])
        self.fields_box = pn.Column(sizing_mode="stretch_width")
        self.notes = pn.pane.Markdown("", css_classes=[f"ex-notes-{index}"],
                                      styles={"font-size": "0.85em", "color": "#666"})
        self.widgets, self.errors = {}, {}
        self.last_changed = None
        self._syncing = False
        self.select.param.watch(self._on_optimizer, "value")
        self._build(values)
        self.panel = pn.Column(self.select, self.fields_box, self.notes,
                               sizing_mode="stretch_width")

    def _build(self, values=None):
        cls = OPTIMIZERS[self.select.value]
        self.widgets, self.errors = {}, {}
        rows = []
        for field in model.hyper_fields(cls):
            value = field.default if values is None or field.name not in values \
                else values[field.name]
            error = pn.pane.Str("", css_classes=[f"ex-error-{self.index}-{field.name}",
                                                 "ex-error"],
                                styles={"color": "#c00", "font-size": "0.85em"})
            label = f"{field.name}"
            if field.kind == "step":
                text = _widget(pn.widgets.TextInput, f"{label} (step size)", value=f"{value:g}",
                                            css_classes=[f"ex-step-{self.index}"])
                lo, hi = (math.log10(v) for v in model.STEP_RANGE)
                slider = pn.widgets.FloatSlider(
                    name=f"log10 {label}", start=lo, end=hi, step=LOG_SLIDER_STEP,
                    value=min(max(math.log10(value), lo), hi),
                    css_classes=[f"ex-step-slider-{self.index}"])
                slider.param.watch(partial(self._on_slider, field.name, text), "value_throttled")
                text.param.watch(partial(self._on_step_text, field.name, slider), "value")
                self.widgets[field.name] = text
                rows += [slider, text, error]
            elif field.kind == "bool":
                box = _widget(pn.widgets.Checkbox, label, value=bool(value))
                box.param.watch(partial(self._on_change, field.name), "value")
                self.widgets[field.name] = box
                rows += [box, error]
            else:
                text = _widget(pn.widgets.TextInput, label, value="" if value is None
                                            else model.toml_value(value).strip('"'),
                                            css_classes=[f"ex-field-{self.index}-{field.name}"])
                text.param.watch(partial(self._on_change, field.name), "value")
                self.widgets[field.name] = text
                rows += [text, error]
            self.errors[field.name] = error
        self.fields_box.objects = rows

    # -- events ---------------------------------------------------------------------------
    def _on_optimizer(self, event):
        self._build()
        self.last_changed = None
        self.app.request()

    def _on_change(self, name, event):
        if self._syncing:
            return
        self.last_changed = name
        self.app.request()

    def _on_slider(self, name, text, event):
        self._syncing = True
        try:
            text.value = f"{10.0 ** event.new:.4g}"
        finally:
            self._syncing = False
        self.last_changed = name
        self.app.request()

    def _on_step_text(self, name, slider, event):
        if self._syncing:
            return
        value = model.parse_value(event.new)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            self._syncing = True
            try:
                slider.value = min(max(math.log10(value), slider.start), slider.end)
            finally:
                self._syncing = False
        self.last_changed = name
        self.app.request()

    # -- reading ----------------------------------------------------------------------------
    def record(self):
        """The record of the widgets' values, or None with the error shown beside a widget."""
        values = {name: w.value for name, w in self.widgets.items()}
        for error in self.errors.values():
            error.object = ""
        record, failure, notes = model.build_record(self.select.value, values)
        if failure is not None:
            field, message = failure
            where = self.last_changed or field
            if where not in self.errors:
                where = next(iter(self.errors))
            self.errors[where].object = message
            return None, notes
        return record, notes


class Explorer:
    """The widgets, figures and callbacks of one session (module docstring)."""

    def __init__(self):
        defaults, _ = load_config(view_runner.EXPERIMENT)
        self.choices = model.problem_choices()
        self.defaults = defaults
        first = defaults["problem"]["name"]
        self.problem_select = _widget(pn.widgets.Select, "Problem", options=list(self.choices),
                                                value=first, css_classes=["ex-problem"])
        self.x0 = _widget(pn.widgets.TextInput, "x0 (or click on the contour plot)",
                                       value=model.toml_value(defaults["x0"]),
                                       css_classes=["ex-x0"])
        self.T = _widget(pn.widgets.TextInput, "Horizon T", value=model.toml_value(defaults["T"]),
                                      css_classes=["ex-T"])
        self.n_runs = _widget(pn.widgets.IntInput, "Runs", value=defaults["n_runs"], start=1,
                                          end=2000, width=145)
        self.n_shown = _widget(pn.widgets.IntInput, "Paths drawn", value=defaults["n_shown"],
                                           start=1, end=50, width=145)
        self.seed = _widget(pn.widgets.IntInput, "Seed", value=defaults["seed"], start=0,
                                     width=145)
        self.lna = _widget(pn.widgets.Checkbox, "LNA 95 % ellipses", value=defaults["lna"])
        self.sde = _widget(pn.widgets.IntInput, "SDE paths (0: none)", value=defaults["sde"],
                                       start=0, end=200, width=145)
        self.controls_error = pn.pane.Str("", css_classes=["ex-error-controls", "ex-error"],
                                          styles={"color": "#c00", "font-size": "0.85em"})
        opt = {k: v for k, v in defaults["optimizer"].items() if k != "name"}
        self.sides = [Side(self, 0, defaults["optimizer"]["name"], opt),
                      Side(self, 1, "sgd")]
        self.compare = _widget(pn.widgets.Checkbox, "Compare with a second optimizer", value=False,
                                           css_classes=["ex-compare"])
        self.study_button = _widget(pn.widgets.Button, "Sup distance against γ",
                                              css_classes=["ex-study"])
        self.study_progress = pn.indicators.Progress(value=0, max=1, visible=False,
                                                     sizing_mode="stretch_width")
        self.save_toml = pn.widgets.FileDownload(callback=self._toml_file, filename="explore.toml",
                                                 label="Save as experiment (TOML)",
                                                 css_classes=["ex-save-toml"])
        self.save_png = pn.widgets.FileDownload(callback=self._png_file, filename="explore.png",
                                                label="Save the view (PNG)")
        self.status = pn.pane.Markdown(COMPILING_NOTE, css_classes=["ex-status"])
        self._make_figures()

        for w in (self.x0, self.T, self.n_runs, self.n_shown, self.seed, self.lna, self.sde):
            w.param.watch(lambda e: self.request(), "value")
        self.problem_select.param.watch(self._on_problem, "value")
        self.compare.param.watch(self._on_compare, "value")
        self.study_button.on_click(lambda e: self.request(study=True))
        self.second_box = pn.Column(self.sides[1].panel, visible=False,
                                    sizing_mode="stretch_width")

        self.generation = 0
        self.drawn = 0  # views drawn so far (the status counts them)
        self.view = None  # (config, problem, records, views, grid) of the drawn view
        self.doc = None

    # -- layout ---------------------------------------------------------------------------
    def _make_figures(self):
        self.src = []
        self.contours = []
        for i in range(2):
            fig = figure(width=FIG_SIZE, height=FIG_SIZE, title="",
                         tools="pan,wheel_zoom,reset,save")
            s = {name: ColumnDataSource(data) for name, data in (
                ("levels", {"xs": [], "ys": []}), ("paths", {"xs": [], "ys": []}),
                ("sde", {"xs": [], "ys": []}), ("ellipses", {"xs": [], "ys": []}),
                ("mean", {"x": [], "y": []}), ("limit", {"x": [], "y": []}),
                ("start", {"x": [], "y": []}))}
            fig.multi_line("xs", "ys", source=s["levels"], color="#bbbbbb", line_width=1)
            fig.multi_line("xs", "ys", source=s["paths"], color=COLORS[i], alpha=0.35,
                           line_width=1, legend_label="runs")
            fig.multi_line("xs", "ys", source=s["sde"], color="#2ca02c", alpha=0.4,
                           line_width=1, legend_label="SDE paths")
            fig.line("x", "y", source=s["mean"], color=COLORS[i], line_width=2.5,
                     legend_label="mean of runs")
            fig.line("x", "y", source=s["limit"], color="black", line_width=2,
                     line_dash="dashed", legend_label="continuous limit")
            fig.multi_line("xs", "ys", source=s["ellipses"], color="#ff7f0e", line_width=1.5,
                           legend_label="LNA 95 %")
            fig.scatter("x", "y", source=s["start"], size=8, color="black")
            fig.legend.location = "top_right"
            fig.legend.label_text_font_size = "8pt"
            fig.on_event(Tap, self._on_tap)
            self.src.append(s)
            self.contours.append(fig)
        self.energy_fig = figure(width=FIG_SIZE, height=300, title="Lyapunov energy V(t, z)",
                                 x_axis_label="t", tools="pan,wheel_zoom,reset,save")
        self.study_fig = figure(width=FIG_SIZE, height=300, x_axis_type="log", y_axis_type="log",
                                title="mean sup_k ‖z_k − z(t_k)‖ against γ (on demand: the button)",
                                x_axis_label="γ", tools="pan,wheel_zoom,reset,save")
        self.esrc, self.ssrc = [], []
        for i in range(2):
            e_lim = ColumnDataSource({"x": [], "y": []})
            e_it = ColumnDataSource({"x": [], "y": []})
            self.energy_fig.line("x", "y", source=e_lim, color="black", line_dash="dashed",
                                 line_width=2, legend_label="along the limit" if i == 0
                                 else "along the limit (2nd)")
            self.energy_fig.line("x", "y", source=e_it, color=COLORS[i], line_width=2,
                                 legend_label="mean along the iterates"
                                 + ("" if i == 0 else " (2nd)"))
            st = ColumnDataSource({"x": [], "y": []})
            self.study_fig.line("x", "y", source=st, color=COLORS[i], line_width=2)
            self.study_fig.scatter("x", "y", source=st, color=COLORS[i], size=7)
            self.esrc.append((e_lim, e_it))
            if i == 1:
                self.second_renderers = self.energy_fig.renderers[-2:] + \
                    self.study_fig.renderers[-2:]
            self.ssrc.append(st)
        self.energy_fig.legend.label_text_font_size = "8pt"
        self._show_second(False)
        self.contour_panes = [pn.pane.Bokeh(f) for f in self.contours]
        self.contour_panes[1].visible = False

    def _show_second(self, shown: bool) -> None:
        """Show the second optimizer's energy and study lines, and their legend items."""
        for r in self.second_renderers:
            r.visible = shown
        for item in self.energy_fig.legend.items:
            if any(r in self.second_renderers for r in item.renderers):
                item.visible = shown

    def layout(self):
        sidebar = pn.Column(
            "## adam-ode explore", self.problem_select, self.x0, self.T,
            pn.Row(self.n_runs, self.n_shown), pn.Row(self.seed, self.sde), self.lna,
            self.controls_error, pn.layout.Divider(), self.sides[0].panel, self.compare,
            self.second_box, pn.layout.Divider(), self.study_button, self.study_progress,
            self.save_toml, self.save_png, width=330)
        main = pn.Column(self.status, pn.Row(*self.contour_panes),
                         pn.Row(pn.pane.Bokeh(self.energy_fig), pn.pane.Bokeh(self.study_fig)))
        return pn.Row(sidebar, main, css_classes=["ex-app"])

    # -- events ---------------------------------------------------------------------------
    def _on_problem(self, event):
        _, x0 = self.choices[event.new]
        self.x0.value = model.toml_value(x0)  # triggers request()

    def _on_compare(self, event):
        self.second_box.visible = event.new
        self.contour_panes[1].visible = event.new
        self.request()

    def _on_tap(self, event):
        if event.x is None or event.y is None:
            return
        self.x0.value = model.toml_value([float(f"{event.x:.4g}"), float(f"{event.y:.4g}")])

    # -- requests -------------------------------------------------------------------------
    def _controls(self):
        """(problem config, problem, x0, T) or None with the error shown."""
        self.controls_error.object = ""
        try:
            config, _ = self.choices[self.problem_select.value]
            problem = make_problem(config)
            x0 = model.parse_value(self.x0.value)
            if not isinstance(x0, list) or len(x0) != 2 or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in x0):
                raise ParameterError(f"x0 must be two finite numbers like [-1.0, 4.0], got "
                                     f"{self.x0.value!r}")
            T = model.parse_value(self.T.value)
            if isinstance(T, bool) or not isinstance(T, (int, float)) or not 0 < T < math.inf:
                raise ParameterError(f"T must be a number > 0 (allowed range (0, inf)), got "
                                     f"{self.T.value!r}")
            if self.n_shown.value > self.n_runs.value:
                raise ParameterError(f"paths drawn ({self.n_shown.value}) must be <= runs "
                                     f"({self.n_runs.value})")
        except ParameterError as err:
            self.controls_error.object = _one_line(err)
            return None
        return config, problem, [float(v) for v in x0], float(T)

    def request(self, study: bool = False):
        """Validate every control; on success compute and draw the view (module docstring)."""
        try:
            self._request(study)
        except Exception as err:  # never a traceback in the page
            LOG.exception("explore: request failed")
            self.status.object = f"Internal error (the last good view stays): {_one_line(err)}"

    def _request(self, study):
        controls = self._controls()
        records = {}
        for key, side in zip(view_runner.SLOTS, self.sides):
            if key == "compare" and not self.compare.value:
                continue
            record, notes = side.record()
            side.notes.object = "\n\n".join(notes)
            if record is None:
                records = None
                break
            records[key] = record
        if controls is None or records is None:
            self.status.object = "Invalid input (see the message beside the widget); the last " \
                                 "good view stays."
            return
        config_p, problem, x0, T = controls
        gammas = model.study_gammas(records["optimizer"]) if study else []
        config = model.view_config(config_p, records["optimizer"], x0, T, self.n_runs.value,
                                   self.n_shown.value, self.seed.value,
                                   compare=records.get("compare"), lna=self.lna.value,
                                   sde=self.sde.value, gammas=gammas)
        self.generation += 1
        generation = self.generation
        if self.drawn == 0:
            self.status.object = COMPILING_NOTE
        else:
            self.status.object = "Computing…" if not study else \
                "Computing the sup distance for γ = " + ", ".join(f"{g:g}" for g in gammas) + "…"
        if study:
            total = len(gammas) * config["n_runs"] * len(records)
            self.study_progress.max = max(total, 1)
            self.study_progress.value = 0
            self.study_progress.visible = True
        doc = self.doc or pn.state.curdoc
        if self.drawn == 0:
            # First view: the limit's parts at once (no kernels), then the iterates once the
            # numba kernels have compiled (seconds on a cold cache).
            preview = _EXECUTOR.submit(self._compute, generation, config, problem, records,
                                       doc, False, False)
            preview.add_done_callback(partial(self._done, generation, doc))
        future = _EXECUTOR.submit(self._compute, generation, config, problem, records, doc,
                                  study)
        future.add_done_callback(partial(self._done, generation, doc))

    def _progress(self, doc, k):
        def bump():
            self.study_progress.value = min(self.study_progress.value + int(k),
                                            self.study_progress.max)
        doc.add_next_tick_callback(bump)

    def _compute(self, generation, config, problem, records, doc, study, iterates=True):
        if generation != self.generation:
            return None  # superseded before it started
        t0 = time.perf_counter()
        progress = partial(self._progress, doc) if study and doc is not None else None
        views = {key: view_runner.compute_view(
            problem, record, config["x0"], config["T"], config["n_runs"], config["n_shown"],
            config["seed"], lna=config["lna"], sde=config["sde"],
            study_gammas=config["study_gammas"], progress=progress, iterates=iterates)
            for key, record in records.items()}
        grid = view_runner.contour_grid(problem, views.values(), config["x0"])
        return config, problem, records, views, grid, time.perf_counter() - t0, iterates

    def _done(self, generation, doc, future):
        try:
            result = future.result()
        except Exception as err:
            LOG.exception("explore: computation failed")
            result = err
        if result is None or generation != self.generation:
            return
        if doc is None:
            self._apply(result)
        else:
            doc.add_next_tick_callback(partial(self._apply, result))

    def _apply(self, result):
        try:
            if isinstance(result, Exception):
                self.status.object = ("Could not compute this view (the last good view stays): "
                                      f"{_one_line(result)}")
                self.study_progress.visible = False
                return
            t0 = time.perf_counter()
            self.draw(*result[:5])
            compute, iterates = result[5:7]
            if not iterates:  # the first view's limit, drawn while the kernels compile
                self.view = None
                self.status.object = ("Limit, LNA ellipses and energy drawn in "
                                      f"{1e3 * compute:.0f} ms. " + COMPILING_NOTE)
                return
            self.drawn += 1
            config = result[0]
            parts = [f"{records_name(r)}" for r in result[2].values()]
            self.status.object = (f"View {self.drawn}: {' vs '.join(parts)} on "
                                  f"{config['problem']['name']}, {config['n_runs']} runs, seed "
                                  f"{config['seed']} (computed in {1e3 * compute:.0f} ms, drawn "
                                  f"in {1e3 * (time.perf_counter() - t0):.0f} ms)")
        except Exception as err:
            LOG.exception("explore: drawing failed")
            self.status.object = f"Internal error while drawing: {_one_line(err)}"

    # -- drawing --------------------------------------------------------------------------
    def draw(self, config, problem, records, views, grid):
        """Put a computed view into the figures' sources."""
        lx, ly = contour_lines(*grid)
        for i, key in enumerate(view_runner.SLOTS):
            s = self.src[i]
            view = views.get(key)
            if view is None:
                continue
            record = records[key]
            fig = self.contours[i]
            sup = view["sup_distance"]
            fig.title.text = records_name(record) + (
                f" — median sup‖x_k − X(t_k)‖ = {np.median(sup):.3g}" if sup.size else "")
            s["levels"].data = {"xs": lx, "ys": ly}
            s["paths"].data = {"xs": [p[:, 0] for p in view["paths"]],
                               "ys": [p[:, 1] for p in view["paths"]]}
            sde = view.get("sde_paths", np.empty((0, 0, 2)))
            s["sde"].data = {"xs": [p[:, 0] for p in sde], "ys": [p[:, 1] for p in sde]}
            s["mean"].data = {"x": view["mean_path"][:, 0], "y": view["mean_path"][:, 1]}
            s["limit"].data = {"x": view["limit_x"][:, 0], "y": view["limit_x"][:, 1]}
            s["start"].data = {"x": [config["x0"][0]], "y": [config["x0"][1]]}
            ells = [view_runner.ellipse(c, cov) for c, cov in
                    zip(view.get("lna_mean", []), view.get("lna_cov", []))]
            s["ellipses"].data = {"xs": [e[:, 0] for e in ells], "ys": [e[:, 1] for e in ells]}
            e_lim, e_it = self.esrc[i]
            if "energy_t" in view:
                e_lim.data = {"x": view["energy_t"], "y": view["energy_limit"]}
                e_it.data = {"x": view["energy_t"], "y": view["energy_iterates"]}
            else:
                e_lim.data = e_it.data = {"x": [], "y": []}
            if "study_gammas" in view:
                self.ssrc[i].data = {"x": view["study_gammas"], "y": view["study_mean_sup"]}
            notes = [f"{part}: {text}" for part, text in view["notes"].items()
                     if part != "warnings"] + list(view["notes"].get("warnings", []))
            side = self.sides[i]
            side.notes.object = "\n\n".join(notes)
        self._show_second("compare" in views)
        if "compare" not in views:
            e_lim, e_it = self.esrc[1]
            e_lim.data = e_it.data = {"x": [], "y": []}
            self.ssrc[1].data = {"x": [], "y": []}
        if not any("study_gammas" in v for v in views.values()):
            for st in self.ssrc:
                st.data = {"x": [], "y": []}
        self.study_progress.visible = False
        self.view = (config, problem, records, views, grid)

    # -- files ----------------------------------------------------------------------------
    def _toml_file(self):
        if self.view is None:
            return io.StringIO("# no view drawn yet\n")
        return io.StringIO(model.config_toml(self.view[0]))

    def _png_file(self):
        buf = io.BytesIO()
        if self.view is None:
            return buf
        _, problem, records, views, grid = self.view
        fig = view_runner.plot(problem, records, views, grid)
        fig.savefig(buf, format="png", dpi=110)
        from matplotlib import pyplot as plt

        plt.close(fig)
        buf.seek(0)
        return buf


def records_name(record) -> str:
    step = record.step_field
    return f"{record.name} ({step} = {getattr(record, step):g})"


def create_app():
    """A new session's layout; the first view is computed once the page has loaded."""
    explorer = Explorer()
    explorer.doc = pn.state.curdoc
    pn.state.onload(explorer.request)
    return explorer.layout()
