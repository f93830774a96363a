"""The optimizer spec, checked for every record of the registry.

Each optimizer module has its own tests (rule, limit, peers); these hold for the whole family and
for any optimizer added later: the cases are every registered record's ``example()``, so a new
record is covered by adding its module (``tests/test_plugins.py`` applies the same checks to an
optimizer registered at run time).
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import adam_ode
from adam_ode import OPTIMIZERS, ParameterError, StochasticQuadratic, make_optimizer
from adam_ode.integrate import solve_limit
from adam_ode.iterates import run_optimizer
from adam_ode.montecarlo import limit_reference

from cases import PROBLEMS

# One test instance per registered optimizer: its own example() (hyperparameters in the scaling
# regime). The package's own records only: a plug-in is checked by tests/test_plugins.py.
INSTANCES = {name: cls.example for name, cls in OPTIMIZERS.items()
             if cls.__module__.startswith("adam_ode.")}
NAMES = sorted(INSTANCES)
CONVEX = StochasticQuadratic(h=[1.0, 0.5], sigma=0.0)  # noise-free, F* = 0 at x* = 0


def test_every_record_of_the_package_is_exported_and_has_an_example():
    for name in NAMES:
        cls = OPTIMIZERS[name]
        assert getattr(adam_ode, cls.__name__) is cls  # exported from adam_ode
        assert isinstance(INSTANCES[name](), cls)


def check_record_spec(record):
    """The spec of one record (shared with tests/test_plugins.py)."""
    cls = type(record)
    assert record.slots[0] == "x" and len(set(record.slots)) == len(record.slots)
    assert cls.args_class is not None and isinstance(record.kernel_args(), cls.args_class)
    assert record.scaling and record.limit_order > 0
    with pytest.raises(AttributeError):  # frozen
        record.gamma = 1.0
    # every argument but the step has a default
    assert isinstance(cls(**{record.step_field: 0.01}), cls)
    # the config round-trips through make_optimizer
    assert make_optimizer(record.config()) == record
    # times: an array for an array, 0 at step 0, increasing
    t = record.times(np.arange(5))
    assert t.shape == (5,) and t[0] == 0.0 and np.all(np.diff(t) > 0)


@pytest.mark.parametrize("name", NAMES)
def test_record_spec(name):
    check_record_spec(INSTANCES[name]())


def check_kernel_equals_numpy_transcription(record, problem, x0, name=""):
    """run_optimizer (numba) against the record's NumPy transcription, same draws."""
    for noise in (True, False):
        path = run_optimizer(problem, record, x0, 120, 7, noise=noise)
        expected = record.numpy_path(problem, x0, 120, 7, noise)
        assert path.shape == (121, record.n_slots * problem.dim)
        # Relative to each column's size: a moment passing through 0 has no relative error.
        scale = np.maximum(np.max(np.abs(expected), axis=0), 1e-300)
        worst = np.max(np.abs(path - expected) / scale)
        assert worst <= 1e-13, f"{name}, noise={noise}: largest scaled difference {worst:.3g}"


@pytest.mark.parametrize("name", NAMES)
def test_kernel_equals_numpy_transcription(name, problem_and_x0):
    problem, x0 = problem_and_x0
    check_kernel_equals_numpy_transcription(INSTANCES[name](), problem, x0, name)


@pytest.mark.parametrize("name", NAMES)
def test_limit_starts_at_the_discrete_initial_state(name):
    # Row 0 of the limit, in the scheme's own variables, is z_0 = (x0, 0, …).
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    record = INSTANCES[name]()
    limit = record.limit()
    z0 = limit.initial_state(problem, x0)
    assert z0.shape == (len(limit.slots) * problem.dim,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = limit_reference(problem, record, x0, 20)
    assert ref.shape == (21, record.n_slots * problem.dim)
    assert_allclose(ref[0], record.numpy_path(problem, x0, 0, 0)[0], atol=1e-12)


@pytest.mark.parametrize("name", [n for n in NAMES if INSTANCES[n]().limit().has_energy])
def test_energy_nonincreasing_along_the_limit(name):
    check_energy_nonincreasing(INSTANCES[name](), name)


def check_energy_nonincreasing(record, name=""):
    """The limit's energy along its solution on a convex quadratic (shared with plug-ins)."""
    limit = record.limit()
    x0 = np.array([1.0, -2.0])
    traj = solve_limit(CONVEX, limit, x0, 5.0)
    t = np.linspace(0.0, 5.0, 2001)
    E = np.asarray(limit.energy(t, traj(t), CONVEX))
    rise = np.max(E - np.minimum.accumulate(E))
    assert rise <= 1e-7 * (1.0 + np.max(np.abs(E))), f"{name}: energy rises by {rise:.3g}"
    assert E[-1] < E[0]


@pytest.mark.parametrize("name", NAMES)
def test_noise_free_iterates_converge_to_the_limit_at_the_stated_order(name):
    check_limit_order(INSTANCES[name](), name)


def check_limit_order(base, name=""):
    """sup_k ‖x_k − X(t_k)‖ on a fixed horizon of the limit's own time, against the step: its
    log-log slope is the record's ``limit_order`` (shared with plug-ins)."""
    x0 = np.array([1.0, -2.0])
    step = base.step_field
    horizon = float(base.times(50))  # 50 steps of the instance's step
    errors, steps = [], []
    for k in range(4):
        gamma = getattr(base, step) / 2**k
        record = base.replace(**{step: gamma})
        n = int(np.searchsorted(record.times(np.arange(10**6)), horizon * (1 - 1e-12)))
        traj = solve_limit(CONVEX, record.limit(), x0, horizon)
        t = np.minimum(record.times(np.arange(n + 1)), horizon)
        x = run_optimizer(CONVEX, record, x0, n, 0, noise=False)[:, :2]
        errors.append(np.max(np.linalg.norm(x - traj(t)[:, :2], axis=1)))
        steps.append(gamma)
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    if base.uniform_steps:
        assert abs(slope - base.limit_order) < 0.15, \
            f"{name}: measured order {slope:.3f}, stated {base.limit_order}, errors {errors}"
    else:  # O(γ0²) reached slowly (see AdamDecreasing.limit_order): local slopes rise to it
        local = np.diff(np.log(errors)) / np.diff(np.log(steps))
        assert np.all(np.diff(local) > 0) and base.limit_order - 0.5 < local[-1] \
            <= base.limit_order + 0.1, f"{name}: local slopes {local}, errors {errors}"


def test_unknown_optimizer_name_raises():
    with pytest.raises(ParameterError, match="unknown optimizer 'no-such-optimizer-xyz'"):
        make_optimizer({"name": "no-such-optimizer-xyz", "gamma": 0.1})
    problem, x0 = PROBLEMS["stochastic-quadratic"]
    with pytest.raises(ParameterError, match="registered optimizer"):
        run_optimizer(problem, object(), x0, 5, 0)


def test_every_optimizer_hits_the_on_disk_cache_in_a_new_process():
    problem, x0 = PROBLEMS["linear-regression-2d"]
    for name in NAMES:  # make sure every kernel is compiled and cached
        run_optimizer(problem, INSTANCES[name](), x0, 3, 0)
    code = ("import sys; sys.path.insert(0, 'tests')\n"
            "from test_family import INSTANCES\n"
            "from adam_ode import LinearRegression2D, run_optimizer\n"
            "from adam_ode.kernels.simulate import simulate\n"
            "for make in INSTANCES.values():\n"
            "    run_optimizer(LinearRegression2D(), make(), [0.0, 0.0], 3, 0)\n"
            "print(sum(simulate.stats.cache_hits.values()), "
            "sum(simulate.stats.cache_misses.values()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600)
    hits, misses = map(int, out.stdout.split())
    assert (hits, misses) == (len(NAMES), 0), out.stdout + out.stderr
