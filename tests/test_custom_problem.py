"""CustomProblem: a user's numba functions in every kernel, in the limits and in an experiment.

Every instance compiles its own kernels (not cacheable): the tests share one instance per
module where they can.
"""

import json
import textwrap

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose

from adam_ode import (SGD, Adam, CustomProblem, ParameterError, linear_noise, monte_carlo,
                      run_optimizer, solve_limit)
from adam_ode.kernels.simulate import evaluate_problem
from adam_ode.problems import kernel_data_of, make_problem

H = np.array([1.0, 4.0])
SIGMA = 0.5
X_STAR = np.array([1.0, -1.0])


@numba.njit
def _sample_grad(x, rng, out):
    for i in range(x.shape[0]):
        out[i] = H[i] * (x[i] - X_STAR[i]) + SIGMA * rng.standard_normal()


@numba.njit
def _grad_F(x):
    return H * (x - X_STAR)


@numba.njit
def _F(x):
    return 0.5 * np.sum(H * (x - X_STAR) ** 2)


@numba.njit
def _S(x):
    return (H * (x - X_STAR)) ** 2 + SIGMA**2


@pytest.fixture(scope="module")
def problem():
    return CustomProblem(2, _sample_grad, _grad_F, F=_F, S=_S, x_star=X_STAR, label="quad")


@pytest.fixture(scope="module")
def problem_mc_S():
    return CustomProblem(2, _sample_grad, _grad_F, F=_F)


def test_numpy_side_calls_the_user_functions(problem):
    x = np.array([[0.0, 0.0], [2.0, 1.0]])
    assert_allclose(problem.F(x), [0.5 * (1 + 4), 0.5 * (1 + 16)])
    assert_allclose(problem.grad_F(x[1]), [1.0, 8.0])
    assert_allclose(problem.critical_distance(x[1]), np.sqrt(1 + 4))
    assert problem.minimizer.tolist() == X_STAR.tolist()


def test_numba_evaluators_draw_what_the_numpy_sampler_draws(problem):
    evaluate = numba.njit(evaluate_problem.py_func)  # uncached copy: the data type is dynamic
    x = np.array([0.3, 0.2])
    draws, grad, dist = evaluate(kernel_data_of(problem), x, np.random.default_rng(4), 10)
    rng = np.random.default_rng(4)
    for g in draws:
        assert_allclose(g, problem.sample_grad(x, rng), rtol=1e-15)
    assert_allclose(grad, problem.grad_F(x))
    assert dist == pytest.approx(problem.critical_distance(x))


def test_kernel_equals_numpy_transcription_and_monte_carlo_is_thread_independent(problem):
    opt = Adam(0.01, a=1.0, b=1.0, eps=1e-3)
    x0 = np.zeros(2)
    assert_allclose(run_optimizer(problem, opt, x0, 300, 1), opt.numpy_path(problem, x0, 300, 1),
                    rtol=1e-12, atol=1e-14)
    r1 = monte_carlo(problem, opt, x0, 500, 6, 3, workers=1, delta=0.3)
    r2 = monte_carlo(problem, opt, x0, 500, 6, 3, workers=2, delta=0.3)
    assert np.array_equal(r1.final_state, r2.final_state)
    assert np.array_equal(r1.fraction_outside, r2.fraction_outside)
    assert np.all(np.linalg.norm(r1.final_x - X_STAR, axis=1) < 0.5)


def test_limits_of_adam_and_sgd_reach_the_minimizer(problem):
    for opt in (Adam(0.01, a=1.0, b=1.0, eps=1e-3), SGD(0.01)):
        traj = solve_limit(problem, opt.limit(), np.zeros(2), 30.0)
        assert np.linalg.norm(traj.x[-1] - X_STAR) < 1e-3, (opt, traj.x[-1])


def test_monte_carlo_S_is_close_and_smooth(problem, problem_mc_S):
    x = np.array([0.2, 0.4])
    S_mc, S = problem_mc_S.S(x), problem.S(x)
    assert_allclose(S_mc, S, rtol=0.1)  # K = 2000: a few per cent
    # Fixed stream: the same draws at every x, so a step h changes S by O(h), not by noise.
    h = 1e-6
    dS = (problem_mc_S.S(x + h) - S_mc) / h
    assert np.all(np.abs(dS) < 100), dS
    assert np.array_equal(problem_mc_S.S(x), S_mc)
    assert problem_mc_S.config()["S"].startswith("monte-carlo")
    # Without x_star the kernels' distance to S is the proxy |grad F|.
    assert problem_mc_S.critical_distance(x) == pytest.approx(np.linalg.norm(_grad_F(x)))


def test_each_instance_has_its_own_kernel_data_type(problem, problem_mc_S):
    assert type(problem.kernel_data) is not type(problem_mc_S.kernel_data)
    assert not CustomProblem.kernel_cacheable


def test_functions_must_be_njit():
    with pytest.raises(ParameterError, match="numba.njit"):
        CustomProblem(2, lambda x, rng, out: None, _grad_F)
    with pytest.raises(ParameterError, match="F was not given"):
        CustomProblem(2, _sample_grad, _grad_F).F(np.zeros(2))


FACTORY = textwrap.dedent('''
    import numba
    import numpy as np
    from adam_ode import CustomProblem

    @numba.njit
    def sample_grad(x, rng, out):
        out[0] = x[0] + 0.3 * rng.standard_normal()
        out[1] = 10.0 * x[1] + 0.3 * rng.standard_normal()

    @numba.njit
    def grad_F(x):
        return np.array([x[0], 10.0 * x[1]])

    @numba.njit
    def F(x):
        return 0.5 * (x[0] ** 2 + 10.0 * x[1] ** 2)

    @numba.njit
    def S(x):
        return np.array([x[0] ** 2 + 0.09, 100.0 * x[1] ** 2 + 0.09])

    def make(scale=1.0):
        return CustomProblem(2, sample_grad, grad_F, F=F, S=S, x_star=[0.0, 0.0],
                             label=f"user quadratic {scale}")
''')


def test_factory_from_a_config_and_an_experiment_run(tmp_path, monkeypatch):
    from adam_ode.cli import main

    (tmp_path / "user_problem.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)  # --set paths are relative to the current directory
    p = make_problem({"name": "custom", "factory": "user_problem.py:make", "scale": 2.0})
    assert isinstance(p, CustomProblem) and p.config()["factory"] == "user_problem.py:make"
    with pytest.raises(ParameterError, match="factory"):
        make_problem({"name": "custom"})
    with pytest.raises(ParameterError, match="not found"):
        make_problem({"name": "custom", "factory": "no_such_file_xyz.py:make"})
    out = tmp_path / "run"
    assert main(["run", "heavy-ball", "--out", str(out), "--quiet", "--workers", "2",
                 "--set", 'problem={name="custom", factory="user_problem.py:make"}',
                 "--set", "T=4.0", "--set", "n_runs=3", "--set", "gamma=0.02"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problem"]["name"] == "custom"
    assert summary["pairs"]["adam"]["sup_distance_median"] < 0.5


def test_wrong_user_functions_are_clear_errors_before_any_work():
    njit = numba.njit

    @njit
    def sample(x, rng, out):
        for i in range(x.shape[0]):
            out[i] = x[i] + rng.standard_normal()

    @njit
    def grad(x):
        return x.copy()

    @njit
    def grad_into(x, out):  # the kernel-style signature, not the one CustomProblem takes
        out[:] = x

    @njit
    def grad_3(x):
        return np.zeros(3)

    with pytest.raises(ParameterError, match=r"grad_F must be a numba.njit function \(x\)"):
        CustomProblem(2, sample, grad_into)
    with pytest.raises(ParameterError, match=r"grad_F\(x\) must return an array of shape \(2,\)"):
        CustomProblem(2, sample, grad_3)
    with pytest.raises(ParameterError, match="sample_grad must be"):
        CustomProblem(2, grad, grad)
    problem = CustomProblem(2, sample, grad)
    with pytest.raises(ParameterError, match="no exact gradient-noise moments"):
        linear_noise(problem, SGD(0.01), [0.0, 0.0], 1.0)


def test_a_config_cannot_call_an_importable_function(tmp_path, monkeypatch, capsys):
    # Defect: factory="os:mkdir" with path="x" created x before the error.
    from adam_ode.cli import main

    monkeypatch.chdir(tmp_path)
    for factory in ("os:mkdir", "shutil:rmtree", "adam_ode.problems:make_problem"):
        code = main(["run", "heavy-ball", "--dry-run", "--set",
                     f'problem={{name="custom", factory="{factory}", path="x"}}'])
        err = capsys.readouterr().err
        assert code == 2 and "does not name a Python file" in err and "FILE.py" in err, err
        assert not (tmp_path / "x").exists()


def test_factory_file_is_relative_to_the_toml_file(tmp_path, monkeypatch):
    from adam_ode.cli import main

    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "user_problem.py").write_text(FACTORY)
    (tmp_path / "cfg" / "mine.toml").write_text(
        'experiment = "heavy-ball"\n'
        'problem = { name = "custom", factory = "user_problem.py:make" }\n'
        "x0 = [-2.5, 1.0]\na = 1.0\nb = 1.0\neps = 0.01\nT = 4.0\ngamma = 0.02\nn_runs = 3\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the factory is found next to the TOML file, not here
    assert main(["run", str(tmp_path / "cfg" / "mine.toml"), "--out", "run", "--quiet"]) == 0
    summary = json.loads((elsewhere / "run" / "summary.json").read_text())
    assert summary["problem"]["name"] == "custom"


def test_a_factory_returning_nan_is_refused_at_construction():
    @numba.njit
    def sample(x, rng, out):
        for i in range(x.shape[0]):
            out[i] = np.nan

    @numba.njit
    def grad(x):
        return x * np.nan

    with pytest.raises(ParameterError, match="not finite"):
        CustomProblem(2, sample, grad)
