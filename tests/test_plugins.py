"""Plug-ins: an optimizer and a problem of another package, registered at run time through the
entry points, covered by the same generic checks as the package's own, and broken plug-ins
reported in one line naming what is missing."""

import json
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import adam_ode as ao
from adam_ode import plugins
from adam_ode.optimizers.base import OPTIMIZERS
from adam_ode.problems.base import PROBLEMS

import test_family
import test_problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin"


def _entry_points(*specs):
    return [EntryPoint(name, value, group) for name, value, group in specs]


@pytest.fixture
def example_plugin(monkeypatch):
    """The example plug-in loaded as if installed; the registries are restored afterwards."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    before_o, before_p = dict(OPTIMIZERS), dict(PROBLEMS)
    errors = plugins.load_plugins(_entry_points(
        ("clipped-sgd", "adam_ode_example_plugin:ClippedSGD", "adam_ode.optimizers"),
        ("rosenbrock", "adam_ode_example_plugin:Rosenbrock", "adam_ode.problems")))
    try:
        yield errors
    finally:
        OPTIMIZERS.clear()
        OPTIMIZERS.update(before_o)
        PROBLEMS.clear()
        PROBLEMS.update(before_p)


def test_the_example_plugin_registers_and_passes_the_generic_checks(example_plugin):
    assert example_plugin == []
    record = OPTIMIZERS["clipped-sgd"].example()
    problem = PROBLEMS["rosenbrock"].example()
    x0 = problem.example_start()
    # the optimizer spec and its kernel against its NumPy transcription, on a core problem and
    # on the plug-in problem; the plug-in problem with a core optimizer
    test_family.check_record_spec(record)
    core, core_x0 = ao.StochasticQuadratic.example(), ao.StochasticQuadratic.example().example_start()
    test_family.check_kernel_equals_numpy_transcription(record, core, core_x0, "clipped-sgd")
    test_family.check_kernel_equals_numpy_transcription(record, problem, x0, "clipped-sgd")
    test_family.check_kernel_equals_numpy_transcription(ao.Adam.example(), problem, x0, "adam")
    test_family.check_energy_nonincreasing(record, "clipped-sgd")
    test_family.check_limit_order(record, "clipped-sgd")
    # the problem's evaluators (NumPy and numba) by the generic problem tests
    for check in (test_problems.test_batched_evaluation_matches_pointwise,
                  test_problems.test_sampler_moments_match_grad_F_and_S,
                  test_problems.test_numba_sampler_draws_exactly_what_numpy_sampler_draws):
        check((problem, x0))


def test_plugins_are_found_by_name_in_configs_and_listings(example_plugin, tmp_path, capsys):
    from adam_ode.cli import main

    record = ao.make_optimizer({"name": "clipped-sgd", "gamma": 0.01, "clip": 0.5})
    assert record.clip == 0.5
    assert ao.make_problem({"name": "rosenbrock", "beta": 5.0}).beta == 5.0
    assert main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert "clipped-sgd" in out and "[plug-in: adam_ode_example_plugin]" in out
    assert main(["list", "problems"]) == 0
    assert "rosenbrock" in capsys.readouterr().out
    # an experiment with a problem table runs on the plug-in problem
    assert main(["run", "heavy-ball", "--set", 'problem={name="rosenbrock", sigma=0.05}',
                 "--set", "x0=[-1.0, 1.5]", "--set", "n_runs=3", "--set", "T=2.0",
                 "--set", "gamma=0.005", "--quiet", "--out", str(tmp_path / "run")]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"]["problem"]["name"] == "rosenbrock"


# --------------------------------------------------------------------------- broken plug-ins

BROKEN = textwrap.dedent('''
    from dataclasses import dataclass
    from typing import NamedTuple

    from adam_ode.optimizers.base import Optimizer, at_x, implements, register_optimizer


    class NoUpdateArgs(NamedTuple):
        gamma: float


    @register_optimizer
    @dataclass(frozen=True)
    class NoUpdate(Optimizer):
        gamma: float = 0.1
        name = "broken-no-update"
        slots = ("x",)
        args_class = NoUpdateArgs

        @classmethod
        def example(cls):
            return cls()

        def kernel_args(self):
            return NoUpdateArgs(self.gamma)

        def numpy_step(self, n, state, grad):
            return state

        def limit(self):
            from adam_ode.optimizers.sgd import GradientFlow
            return GradientFlow()


    implements("coefficients_start", NoUpdateArgs)(lambda h: (0.0,))
    implements("coefficients_next", NoUpdateArgs)(lambda h, n, c: c)
    implements("gradient_point", NoUpdateArgs)(at_x)


    @dataclass(frozen=True)
    class WrongStep(NoUpdate):
        name = "broken-wrong-step"

        def numpy_step(self, state, grad):
            return state


    @dataclass(frozen=True)
    class Clash(NoUpdate):
        name = "adam"
''')


@pytest.fixture
def broken_module(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(OPTIMIZERS)
    yield
    OPTIMIZERS.clear()
    OPTIMIZERS.update(before)
    sys.modules.pop("broken_plugin", None)


@pytest.mark.parametrize("value,message", [
    ("broken_plugin:NoUpdate", "no numba 'update' registered for NoUpdateArgs; add "
                               "@implements('update', NoUpdateArgs)"),
    ("broken_plugin:WrongStep", "WrongStep.numpy_step must take 3 argument(s) after self"),
    ("broken_plugin:Clash", "the name 'adam' is taken by adam_ode.optimizers.adam.Adam"),
    ("broken_plugin:Missing", "cannot be loaded: AttributeError"),
    ("no_such_plugin_module_xyz:Thing", "cannot be loaded: ModuleNotFoundError"),
])
def test_a_broken_plugin_is_left_out_with_one_line(broken_module, value, message):
    errors = plugins.load_plugins(_entry_points(("mine", value, "adam_ode.optimizers")))
    assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0], errors
    assert errors[0].startswith(f"plug-in 'mine' ({value})")
    assert "Clash" not in [c.__name__ for c in OPTIMIZERS.values()]


def test_a_users_incomplete_optimizer_fails_in_one_line_before_numba(broken_module):
    import broken_plugin

    problem = ao.StochasticQuadratic.example()
    with pytest.raises(plugins.PluginError, match="no numba 'update' registered"):
        ao.run_optimizer(problem, broken_plugin.NoUpdate(), problem.example_start(), 5, 0)


def test_broken_plugins_are_named_as_warnings_by_the_command_line(monkeypatch, capsys):
    from adam_ode.cli import main

    monkeypatch.setattr(plugins, "PLUGIN_ERRORS", ["plug-in 'x' (pkg:X): no example()"])
    assert main(["list", "optimizers"]) == 0
    assert "adam-ode: warning: plug-in 'x' (pkg:X): no example()" in capsys.readouterr().err


@pytest.mark.slow
def test_the_example_plugin_installs_as_a_package(tmp_path):
    # pip install of the plug-in beside an editable adam-ode: the entry points are found.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    str(EXAMPLE)], check=True, timeout=600)
    out = subprocess.run([python, "-m", "adam_ode", "list", "optimizers"], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and "clipped-sgd" in out.stdout, out.stderr
