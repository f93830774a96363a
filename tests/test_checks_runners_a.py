"""The checks, cost estimates and redraws of the runners adagrad-rmsprop, convergence, debiasing,
double-well, family, fluctuations, heavy-ball, implicit-bias, interpolated and
logistic-regression.

A bad value of any key is refused before any work with exit status 2 and one line naming the
key as the user writes it (dry runs: nothing is computed); every shipped config passes; the
defects reported by users are reproduced through the CLI; the estimates count every phase (the
continuous-time solves, the loss evaluations); a tiny run's figure is drawn again, identically,
from its files.
"""

import json

import pytest

from adam_ode import DivergenceWarning, cost
from adam_ode import experiments as ex
from adam_ode.cli import main
from adam_ode.experiments import run_experiment
from adam_ode.redraw import redraw, redraw_run
from adam_ode.runners import _checks, implicit_bias, logistic_regression

from runner_checks import (check_bad_value, check_shipped_config, cli_error, estimate, labels,
                           lines, uncovered_keys)

GROUP_A = ("adagrad-rmsprop", "convergence", "debiasing", "double-well", "family",
           "fluctuations", "heavy-ball", "implicit-bias", "interpolated", "logistic-regression")


# The family's optimizer tables: (table, key, --set value, fragment of the message).
FAMILY_TABLE_CASES = [
    (table, key, value, fragment)
    for table in ("sgd", "momentum-sgd", "nesterov", "adagrad", "rmsprop", "adam", "amsgrad",
                  "adamw", "adamax")
    for key, value, fragment in [("gamma", "0", "must be > 0"), ("T", "0", "must be > 0"),
                                 ("order_gammas", "[]", "non-empty")]
] + [
    ("momentum-sgd", "a", "0", "must be > 0"),
    ("nesterov", "schedule", "'fast'", "schedule must be one of"),
    ("rmsprop", "b", "-1", "must be > 0"), ("rmsprop", "eps", "0", "must be > 0"),
    *[(table, key, "0", "must be > 0") for table in ("adam", "amsgrad", "adamw", "adamax")
      for key in ("a", "b", "eps")],
    ("adamw", "weight_decay", "-1", "must be >= 0"),
]

BAD = [
    # adagrad-rmsprop
    ("adagrad-rmsprop", "problem", ["problem={name='double-well'}"],
     ["problem = {'name': 'double-well'}", "unique minimizer"]),
    ("adagrad-rmsprop", "problem", ["problem.sigma=-1"], ["problem", "sigma must be >= 0"]),
    ("adagrad-rmsprop", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("adagrad-rmsprop", "adagrad_gamma", ["adagrad_gamma=0"],
     ["adagrad_gamma = 0.0", "must be > 0"]),
    ("adagrad-rmsprop", "rmsprop_gamma", ["rmsprop_gamma=200.0"],
     ["rmsprop_gamma = 200.0", "b*gamma must be < 1", "rmsprop_b = 1.0"]),
    ("adagrad-rmsprop", "rmsprop_b", ["rmsprop_b=0"], ["rmsprop_b = 0.0", "must be > 0"]),
    ("adagrad-rmsprop", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("adagrad-rmsprop", "n_steps", ["n_steps=0"], ["n_steps = 0", "integer >= 1"]),
    ("adagrad-rmsprop", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("adagrad-rmsprop", "record_every", ["record_every=0"], ["record_every = 0", ">= 1"]),
    ("adagrad-rmsprop", "record_every", ["record_every=200000"],
     ["record_every = 200000", "<= n_steps = 100000"]),
    ("adagrad-rmsprop", "growth_window", ["growth_window=[10, 200000]"],
     ["growth_window = [10, 200000]", "k_hi <= n_steps = 100000"]),
    ("adagrad-rmsprop", "growth_window", ["growth_window=[10, 20]"],
     ["growth_window = [10, 20]", "fewer than 2 recorded steps"]),
    ("adagrad-rmsprop", "settle_fraction", ["settle_fraction=1.0"],
     ["settle_fraction = 1.0", "must lie in (0, 1)"]),
    ("adagrad-rmsprop", "settle_fraction", ["settle_fraction=0.0001", "record_every=64"],
     ["settle_fraction = 0.0001", "no recorded step"]),
    ("adagrad-rmsprop", "demo_problem", ["demo_problem.h=[1.0, 2.0, 3.0]"],
     ["demo_problem = ", "must be 2-D"]),
    ("adagrad-rmsprop", "demo_problem.name", ["demo_problem.name='foo'"],
     ["demo_problem", "unknown problem 'foo'"]),
    ("adagrad-rmsprop", "demo_problem.h", ["demo_problem.h=[0.0, 1.0]"],
     ["demo_problem", "h must be > 0"]),
    ("adagrad-rmsprop", "demo_problem.sigma", ["demo_problem.sigma=-1"],
     ["demo_problem.sigma = -1.0", "must be >= 0"]),
    ("adagrad-rmsprop", "demo_starts", ["demo_starts=[[1.0]]"],
     ["demo_starts[0] = [1.0]", "must have 2 entries"]),
    ("adagrad-rmsprop", "demo_starts", ["demo_starts=[]"], ["demo_starts = []", "non-empty"]),
    ("adagrad-rmsprop", "demo_gamma", ["demo_gamma=0"], ["demo_gamma = 0.0", "must be > 0"]),
    ("adagrad-rmsprop", "demo_eps", ["demo_eps=0"], ["demo_eps = 0.0", "must be > 0"]),
    ("adagrad-rmsprop", "n_demo_steps", ["n_demo_steps=0"], ["n_demo_steps = 0", ">= 1"]),
    ("adagrad-rmsprop", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # convergence
    ("convergence", "problem", ["problem.p=2"], ["problem", "p must lie in (0, 1)"]),
    ("convergence", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("convergence", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("convergence", "a", ["a=20.0"], ["gammas[0] = 0.1", "a*gamma must be < 1"]),
    ("convergence", "b", ["b=-1"], ["b = -1.0", "must be > 0"]),
    ("convergence", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("convergence", "T", ["T=0.01"], ["T = 0.01 is shorter than one step", "gammas"]),
    ("convergence", "gammas", ["gammas=[]"], ["gammas = []", "non-empty"]),
    ("convergence", "gammas", ["gammas=[0.1, 0.0]"], ["gammas[1] = 0.0", "must be > 0"]),
    ("convergence", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("convergence", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # debiasing
    ("debiasing", "problem", ["problem.p=2"], ["problem", "p must lie in (0, 1)"]),
    ("debiasing", "x0_near", ["x0_near=[1.0]"], ["x0_near = [1.0]", "must have 2 entries"]),
    ("debiasing", "x0_far", ["x0_far=[1e200, 1.0]"], ["x0_far = [1e+200, 1.0]", "not finite"]),
    ("debiasing", "alpha", ["alpha=1.0"], ["alpha = 1.0", "must lie in (0, 1)"]),
    ("debiasing", "beta", ["beta=0"], ["beta = 0.0", "must lie in (0, 1)"]),
    ("debiasing", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("debiasing", "gammas", ["gammas=[]"], ["gammas = []", "non-empty"]),
    ("debiasing", "gammas", ["gammas=[0.1, 0.1]"], ["gammas[1] = 0.1", "repeats gammas[0]"]),
    ("debiasing", "n_steps", ["n_steps=0"], ["n_steps = 0", "integer >= 1"]),
    ("debiasing", "n_runs", ["n_runs=1"], ["n_runs = 1", "integer >= 2"]),
    ("debiasing", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # double-well
    ("double-well", "problem", ["problem={name='double-well', d=3}"],
     ["problem = {'name': 'double-well', 'd': 3}", "2-D double well"]),
    ("double-well", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("double-well", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("double-well", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("double-well", "portrait_x0", ["portrait_x0=[[1.0]]"],
     ["portrait_x0[0] = [1.0]", "must have 2 entries"]),
    ("double-well", "portrait_x0", ["portrait_x0=[]"], ["portrait_x0 = []", "non-empty"]),
    ("double-well", "T", ["T=0.01"], ["T = 0.01 is shorter than one step", "cloud_gamma"]),
    ("double-well", "cloud_gamma", ["cloud_gamma=2.0"],
     ["cloud_gamma = 2.0", "a*gamma must be < 1"]),
    ("double-well", "cloud_runs", ["cloud_runs=0"], ["cloud_runs = 0", "integer >= 1"]),
    ("double-well", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("double-well", "compare_gamma", ["compare_gamma=1.5"],
     ["compare_gamma = 1.5", "a*gamma must be < 1"]),
    ("double-well", "gamma0", ["gamma0=1.5"], ["gamma0 = 1.5", "a*gamma must be < 1"]),
    ("double-well", "kappa", ["kappa=0.4"], ["kappa = 0.4", "(0.5, 1]"]),
    ("double-well", "compare_steps", ["compare_steps=5"], ["compare_steps = 5", ">= 10"]),
    ("double-well", "compare_runs", ["compare_runs=0"], ["compare_runs = 0", ">= 1"]),
    ("double-well", "gammas", ["gammas=[]"], ["gammas = []", "non-empty"]),
    ("double-well", "gammas", ["gammas=[2.0]"], ["gammas[0] = 2.0", "a*gamma must be < 1"]),
    ("double-well", "delta", ["delta=0"], ["delta = 0.0", "must be > 0"]),
    ("double-well", "horizon", ["horizon=0.1"],
     ["horizon = 0.1 is shorter than one step", "gammas"]),
    ("double-well", "burn_in", ["burn_in=300.0"], ["burn_in = 300.0", "[0, horizon)"]),
    ("double-well", "burn_in", ["burn_in=-1.0"], ["burn_in = -1.0", "[0, horizon)"]),
    ("double-well", "ergodic_runs", ["ergodic_runs=1"], ["ergodic_runs = 1", "integer >= 2"]),
    ("double-well", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # family
    ("family", "problem", ["problem.h=[1.0, 2.0, 3.0]"], ["problem = ", "must be 2-D"]),
    ("family", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("family", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("family", "seed", ["seed=-1"], ["seed", ">= 0"]),
    *[("family", f"optimizers.{table}.{key}", [f"optimizers.{table}.{key}={value}"],
       [f"optimizers.{table}", fragment]) for table, key, value, fragment in FAMILY_TABLE_CASES],
    ("family", "optimizers.adam", ["optimizers.adam.gama=0.1"],
     ["optimizers.adam.gama = 0.1", "unknown key of the table optimizers.adam"]),
    ("family", "optimizers", ["optimizers.bogus={gamma=0.1, T=1.0, order_gammas=[0.1, 0.05]}"],
     ["optimizers.bogus: unknown optimizer 'bogus'"]),
    ("family", "optimizers.adam.order_gammas", ["optimizers.adam.order_gammas=[0.1]"],
     ["optimizers.adam.order_gammas = [0.1]", "2 distinct"]),
    ("family", "optimizers.adam.order_gammas", ["optimizers.adam.order_gammas=[0.6, 0.1]"],
     ["optimizers.adam.order_gammas[0] = 0.6", "a*gamma must be < 1", "optimizers.adam.a = 2.0"]),
    ("family", "optimizers.adam.T", ["optimizers.adam.T=0.001"],
     ["optimizers.adam.T = 0.001 is shorter than one step"]),
    # fluctuations
    ("fluctuations", "problem", ["problem={name='double-well'}"],
     ["problem = {'name': 'double-well'}", "unique minimizer"]),
    ("fluctuations", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("fluctuations", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("fluctuations", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("fluctuations", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("fluctuations", "T", ["T=0.01"], ["T = 0.01 is shorter than one step"]),
    ("fluctuations", "gammas", ["gammas=[]"], ["gammas = []", "non-empty"]),
    ("fluctuations", "gammas", ["gammas=[0.3]"], ["gammas[0] = 0.3", "a*gamma must be < 1"]),
    ("fluctuations", "n_runs", ["n_runs=1"], ["n_runs = 1", "integer >= 2"]),
    ("fluctuations", "seed", ["seed=-1"], ["seed", ">= 0"]),
    ("fluctuations", "family.T", ["family.T=0"], ["family.T = 0.0", "must be > 0"]),
    ("fluctuations", "family.T", ["family.T=0.001"],
     ["family.T = 0.001 is shorter than one step", "family.optimizers[0]"]),
    ("fluctuations", "family.n_runs", ["family.n_runs=1"], ["family.n_runs = 1", ">= 2"]),
    ("fluctuations", "family.optimizers", ["family.optimizers=[]"],
     ["family.optimizers = []", "non-empty"]),
    ("fluctuations", "family.optimizers", ["family.optimizers=[{name='adagrad', gamma=0.01}]"],
     ["family.optimizers[0] = ", "no fluctuation model"]),
    ("fluctuations", "family.optimizers", ["family.optimizers=[{name='sgd', gamma=0.0}]"],
     ["family.optimizers[0].gamma = 0.0", "must be > 0"]),
    ("fluctuations", "family.optimizers",
     ["family.optimizers=[{name='adam', gamma=0.3, a=4.0}]"],
     ["family.optimizers[0] = ", "a*gamma must be < 1"]),
    ("fluctuations", "family", ["family.foo=1"], ["family.foo = 1", "unknown key"]),
    # heavy-ball
    ("heavy-ball", "problem", ["problem.h=[1.0, 2.0, 3.0]"], ["problem = ", "must be 2-D"]),
    ("heavy-ball", "x0", ["x0=[1e200, 1.0]"], ["x0 = [1e+200, 1.0]", "not finite"]),
    ("heavy-ball", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("heavy-ball", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("heavy-ball", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("heavy-ball", "T", ["T=0.001"], ["T = 0.001 is shorter than one step", "gamma"]),
    ("heavy-ball", "T", ["T=0.0015", "gamma=0.0001"], ["T = 0.0015", "must be > 0.002"]),
    ("heavy-ball", "gamma", ["gamma=1.5"], ["gamma = 1.5", "a*gamma must be < 1", "a = 1.0"]),
    ("heavy-ball", "gamma", ["gamma=0"], ["gamma = 0.0", "must be > 0"]),
    ("heavy-ball", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("heavy-ball", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # implicit-bias
    ("implicit-bias", "n", ["n=40"], ["n = 40", "must be < d = 30"]),
    ("implicit-bias", "n", ["n=0"], ["n = 0", "integer >= 1"]),
    ("implicit-bias", "d", ["d=1"], ["d = 1", "integer >= 2"]),
    ("implicit-bias", "planted_nonzeros", ["planted_nonzeros=31"],
     ["planted_nonzeros = 31", "<= d = 30"]),
    ("implicit-bias", "data_seed", ["data_seed=-1"], ["data_seed = -1", "integer >= 0"]),
    ("implicit-bias", "gamma", ["gamma=0"], ["gamma = 0.0", "must be > 0"]),
    ("implicit-bias", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("implicit-bias", "a", ["a=1000.0"], ["eps[0] = 0.1", "a*gamma must be < 1"]),
    ("implicit-bias", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("implicit-bias", "eps", ["eps=[]"], ["eps = []", "non-empty"]),
    ("implicit-bias", "eps", ["eps=[0.1, 0.1]"], ["eps[1] = 0.1", "repeats eps[0]"]),
    ("implicit-bias", "eps", ["eps=[0.0]"], ["eps[0] = 0.0", "must be > 0"]),
    ("implicit-bias", "T", ["T=0.0001"], ["T = 0.0001 is shorter than one step", "gamma"]),
    ("implicit-bias", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("implicit-bias", "limit_method", ["limit_method='Euler'"],
     ["limit_method = 'Euler'", "must be one of 'LSODA'"]),
    ("implicit-bias", "limit_rtol", ["limit_rtol=0.5"], ["limit_rtol = 0.5", "(0, 0.1)"]),
    ("implicit-bias", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # interpolated
    ("interpolated", "problem", ["problem.p=2"], ["problem", "p must lie in (0, 1)"]),
    ("interpolated", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("interpolated", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("interpolated", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("interpolated", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("interpolated", "T", ["T=0.01"], ["T = 0.01 is shorter than one step"]),
    ("interpolated", "gammas", ["gammas=[]"], ["gammas = []", "non-empty"]),
    ("interpolated", "gammas", ["gammas=[0.1, 0.1]"], ["gammas[1] = 0.1", "repeats gammas[0]"]),
    ("interpolated", "gammas", ["gammas=[0.3]"], ["gammas[0] = 0.3", "a*gamma must be < 1"]),
    ("interpolated", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("interpolated", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # logistic-regression
    ("logistic-regression", "problem", ["problem=double-well"],
     ["problem = {'name': 'double-well'}", "finite-sum problem"]),
    ("logistic-regression", "problem", ["problem.batch_size=0"],
     ["problem", "batch_size must be an integer >= 1"]),
    ("logistic-regression", "epochs", ["epochs=0"], ["epochs = 0", "integer >= 1"]),
    ("logistic-regression", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    *[("logistic-regression", key, [f"{key}=0"], [f"{key} = 0.0", "must be > 0"])
      for key in ("gamma_sgd", "gamma_adagrad", "gamma_rmsprop", "gamma_adam")],
    ("logistic-regression", "gamma_adam", ["gamma_adam=-1e-3"],
     ["gamma_adam = -0.001", "must be > 0"]),
    ("logistic-regression", "seed", ["seed=-1"], ["seed", ">= 0"]),
]


@pytest.mark.parametrize("name, key, sets, fragments", BAD,
                         ids=[f"{n}:{' '.join(s)}" for n, _, s, _ in BAD])
def test_a_bad_value_is_one_line_naming_the_key(name, key, sets, fragments, capsys,
                                                tmp_path, monkeypatch):
    check_bad_value(capsys, tmp_path, monkeypatch, name, sets, fragments)


@pytest.mark.parametrize("name", GROUP_A)
def test_every_key_has_a_bad_value_above(name):
    missing = uncovered_keys(BAD, name)
    assert not missing, missing


@pytest.mark.parametrize("name", GROUP_A)
def test_the_shipped_config_passes_its_checks(name, tmp_path):
    check_shipped_config(name, tmp_path)


# ----------------------------------------------------------------------------- reported defects


@pytest.mark.parametrize("name", ["convergence", "weak-convergence"])
def test_a_start_where_S_overflows_is_refused_not_a_solver_traceback(name, capsys):
    line = cli_error(capsys, name, "x0=[1e200,1e200]")
    assert "x0 = [1e+200, 1e+200]: F, its gradient or S is not finite there" in line


def test_family_names_the_key_of_a_bad_step(capsys):
    line = cli_error(capsys, "family", "optimizers.adam.gamma=-1")
    assert "optimizers.adam.gamma = -1.0: must be > 0 (allowed range (0, inf))" in line


def test_family_names_the_keys_of_a_gamma_too_large_for_a(capsys):
    line = cli_error(capsys, "family", "optimizers.adam.gamma=0.6")
    assert line.startswith("adam-ode: error: optimizers.adam: a*gamma must be < 1")
    assert "optimizers.adam.gamma = 0.6" in line and "optimizers.adam.a = 2.0" in line


def test_double_well_names_cloud_gamma(capsys):
    line = cli_error(capsys, "double-well", "cloud_gamma=0")
    assert "cloud_gamma = 0.0: must be > 0" in line


def test_zero_epochs_is_an_error_not_one_step(capsys):
    line = cli_error(capsys, "logistic-regression", "epochs=0")
    assert "epochs = 0: must be an integer >= 1" in line


def test_logistic_regression_estimate_counts_the_limit_solves():
    # gamma_sgd = 1e6 changes no iteration count, only the SGD limit's horizon (n_steps·γ):
    # that solve runs into the solver's budget of field evaluations (about 12 s).
    base, huge = estimate("logistic-regression"), estimate("logistic-regression",
                                                             "gamma_sgd=1e6")
    assert huge.seconds(1) > base.seconds(1) + 5.0
    assert huge.seconds(1) < cost.TIME_LIMIT_S  # the budget caps it: not refused as hours


def test_logistic_regression_estimate_counts_the_loss_of_every_iterate():
    config = ex.resolve_config("logistic-regression")
    est = ex.estimate("logistic-regression", config)
    n_steps = round(config["epochs"] * 569 / 16)
    # F at each recorded iterate of each run and optimizer: 569 samples x 30 features
    values = 4 * config["n_runs"] * (n_steps + 1) * 569 * 30
    assert est.seconds(1) > values * logistic_regression.LOSS_SECONDS_PER_FLOAT
    assert est.memory_bytes >= config["n_runs"] * (n_steps + 1) * 569 * 8


def test_a_loss_that_blows_up_is_reported_as_a_divergence(tmp_path):
    with pytest.warns(DivergenceWarning) as caught:
        rec = run_experiment("logistic-regression",
                             overrides=["gamma_sgd=300.0", "epochs=1", "n_runs=4"],
                             out_dir=tmp_path, quiet=True, workers=1)
    sgd = rec.summary["optimizers"]["sgd"]
    assert sgd["final_loss_median"] > logistic_regression.LOSS_BLOWUP * rec.summary["F_x0"]
    assert sgd["diverged_runs"] == 4 and rec.summary["diverged_runs"] >= 4
    warning = next(w.message for w in caught if "sgd" in str(w.message))
    assert warning.count == 4 and warning.total == 4 and len(warning.first_steps) == 4
    assert any("diverged" in text for text in rec.summary["warnings"])
    assert all(rec.summary["optimizers"][k]["diverged_runs"] == 0
               for k in ("adagrad", "rmsprop", "adam"))


def test_implicit_bias_estimate_counts_the_limit_solves():
    config = ex.resolve_config("implicit-bias")
    est = ex.estimate("implicit-bias", config)
    steps = int(config["T"] / config["gamma"])
    n_eps = len(config["eps"])
    iterations = (config["n_runs"] * (1 + n_eps) + n_eps) * steps
    solves = 2 * (1 + 2 * n_eps)  # each method's limit at limit_rtol and 10x looser
    assert est.run_steps > iterations
    assert est.seconds(1) - iterations * cost.seconds_per_run_step(est.state_floats) \
        >= solves * (_checks.ODE_SECONDS_PER_SOLVE + implicit_bias.LIMIT_SECONDS_PER_TIME
                     * config["T"]) * 0.99


@pytest.mark.parametrize("name", ["implicit-bias", "logistic-regression"])
def test_progress_advances_in_the_estimated_run_steps(name, tmp_path, monkeypatch):
    bars = []
    original = ex.RunContext.progress

    def recording(self, total, desc="", unit=""):
        bar = original(self, total, desc=desc, unit=unit)
        bars.append(bar)
        return bar

    monkeypatch.setattr(ex.RunContext, "progress", recording)
    rec = run_experiment(name, overrides=TINY[name], out_dir=tmp_path, quiet=True, workers=1)
    config = ex.resolve_config(name, TINY[name])
    if name == "implicit-bias":
        phases = implicit_bias._phases(config)
        figure = _checks.figure_run_steps(3, 3 * config["d"])
    else:
        problem = logistic_regression._problem(config)
        phases = list(logistic_regression._phases(config, problem).values())
        figure = _checks.figure_run_steps(1, 3 * problem.dim)
    assert len(bars) == 1
    assert all(solve > 0 for _, solve in phases)  # the limit solves advance the bar too
    # the bar counts the estimate's run·steps of every phase but the figure (drawn afterwards)
    assert bars[0].total == rec.summary["estimate"]["run_steps"] - figure
    assert bars[0].total == sum(runs + solve for runs, solve in phases)
    assert bars[0].n == bars[0].total


# ----------------------------------------------------------------------------- redraw

TINY = {
    "adagrad-rmsprop": ["n_steps=2000", "n_runs=2", "record_every=10", "growth_window=[100, 2000]"],
    "convergence": ["gammas=[0.1, 0.05]", "n_runs=20", "T=5.0"],
    "debiasing": ["gammas=[0.1, 0.05]", "n_steps=200", "n_runs=10"],
    "double-well": ["portrait_x0=[[0.0, 1.6], [0.3, -1.8]]", "T=5.0", "cloud_runs=10",
                    "compare_steps=2000", "compare_runs=5", "gammas=[0.2, 0.1]",
                    "horizon=20.0", "burn_in=2.0", "ergodic_runs=5"],
    "family": ["n_runs=5", "optimizers={sgd={gamma=0.01, T=1.0, order_gammas=[0.02, 0.01]}, "
               "adam={a=2.0, b=1.0, eps=0.1, gamma=0.01, T=1.0, order_gammas=[0.02, 0.01]}}"],
    "fluctuations": ["gammas=[0.1, 0.05]", "n_runs=20", "T=5.0",
                     "family={T=1.0, n_runs=20, optimizers=[{name='sgd', gamma=0.01}, "
                     "{name='adam', gamma=0.01, a=4.0, b=1.0, eps=0.01}]}"],
    "heavy-ball": ["T=2.0", "n_runs=5"],
    "implicit-bias": ["n=4", "d=8", "T=2.0", "gamma=0.01", "eps=[0.1, 0.01]", "n_runs=2"],
    "interpolated": ["gammas=[0.1, 0.05]", "n_runs=5", "T=2.0"],
    "logistic-regression": ["epochs=2", "n_runs=3"],
}


@pytest.mark.parametrize("name", GROUP_A)
def test_redraw_gives_the_runs_figure_again(name, tmp_path):
    rec = run_experiment(name, overrides=TINY[name], out_dir=tmp_path / "run", quiet=True,
                         workers=2)
    assert main(["plot", str(tmp_path / "run"), "--out", str(tmp_path / "again.png")]) == 0
    again = tmp_path / "again.png"
    assert again.read_bytes() == (tmp_path / "run" / "figure.png").read_bytes()
    figure = redraw_run(tmp_path / "run")
    assert len(figure.axes) == len(rec.result.figure.axes)
    assert labels(figure) == labels(rec.result.figure)
    assert lines(figure) == lines(rec.result.figure) and sum(lines(figure)) > 0
    assert any(title for title, _, _ in labels(figure))
    assert redraw(tmp_path / "run") == tmp_path / "run" / "figure.png"


# ----------------------------------------------------------------------------- estimates vs runs


@pytest.mark.slow
@pytest.mark.parametrize("name", GROUP_A)
def test_the_estimate_is_within_a_factor_five_of_the_run(name, tmp_path):
    """The modelled time against the measured one (the run and its files: data, figure), once
    a first run has compiled the kernels."""
    run_experiment(name, overrides=TINY[name], out_dir=tmp_path / "warm", quiet=True, workers=1)
    rec = run_experiment(name, overrides=TINY[name], out_dir=tmp_path / "run", quiet=True,
                         workers=1)
    estimated, measured = rec.summary["estimate"]["seconds"], rec.summary["wall_time_s"]
    assert 0.2 <= estimated / measured <= 5.0, \
        f"{name}: estimated {estimated:.3g} s, measured {measured:.3g} s"


def test_implicit_bias_reports_a_stalled_limit_solve_and_keeps_the_rest(tmp_path, monkeypatch):
    # data_seed = 1 makes the full-batch limit at eps = 1e-8 stall until the solver's budget;
    # the same stop, forced here on the full-batch limit at eps = 0.01
    from adam_ode.integrate import SolverBudgetError

    original = implicit_bias.solve_limit

    def stalling(problem, limit, *args, **kwargs):
        if isinstance(problem, implicit_bias._ExactGradients) and limit.eps < 0.05:
            raise SolverBudgetError("solve_limit(AdamLimit): stopped at t = 1 of T = 2")
        return original(problem, limit, *args, **kwargs)

    monkeypatch.setattr(implicit_bias, "solve_limit", stalling)
    sets = ["n=4", "d=8", "T=2.0", "gamma=0.01", "eps=[0.1, 0.01]", "n_runs=2"]
    with pytest.warns(UserWarning, match="adam_full_batch_eps=0.01: the limit has no end point"):
        run_experiment("implicit-bias", overrides=sets, out_dir=tmp_path, quiet=True, workers=1)
    summary = json.loads((tmp_path / "summary.json").read_text())
    methods = summary["methods"]
    stalled = methods["adam_full_batch_eps=0.01"]
    assert stalled["limit_end"]["norm_2"] is None and stalled["limit_end_closer_to"] is None
    assert stalled["iterates_mean"]["norm_2"] > 0  # the iterates' results stand
    assert methods["adam_full_batch_eps=0.1"]["limit_end_closer_to"] in ("min_l2", "min_linf")
    assert any("adam_full_batch_eps=0.01: the limit has no end point" in w
               for w in summary["warnings"])
    assert redraw(tmp_path) == tmp_path / "figure.png"
