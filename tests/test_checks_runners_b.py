"""The checks, cost estimates and redraws of the runners lyapunov, minibatch, nesterov,
quadratic-d100, reddi, scaling-rule, weak-convergence, weak-error and weight-decay.

A bad value of any key is refused before any work with exit status 2 and one line naming the
key as the user writes it (dry runs: nothing is computed); every shipped config passes; the
defects reported by a new user are reproduced through the CLI; a tiny run's figure is drawn
again, identically, from its files.
"""

import pytest

from adam_ode import experiments as ex
from adam_ode.cli import main
from adam_ode.experiments import ExperimentError, run_experiment
from adam_ode.redraw import redraw, redraw_run

from runner_checks import (check_bad_value, check_shipped_config, cli_error, estimate, labels,
                           uncovered_keys)

GROUP_B = ("lyapunov", "minibatch", "nesterov", "quadratic-d100", "reddi", "scaling-rule",
           "weak-convergence", "weak-error", "weight-decay")


# (experiment, key of the config, --set values, fragments of the message: the key as written
# with its value, and the reason)
STUDY_CASES = [
    (f"{s}.{key}", sets, fragments)
    for s in ("correlated", "stationary", "regression")
    for key, sets, fragments in [
        ("enabled", [f"{s}.enabled=1"], [f"{s}.enabled", "must be a bool"]),
        ("note", [f"{s}.note=1"], [f"{s}.note", "must be a string"]),
        ("x0", [f"{s}.x0=[1.0]"], [f"{s}.x0 = [1.0]", "must have 2 entries"]),
        ("v0", [f"{s}.v0='1'"], [f"{s}.v0 = '1'", "must be one of 'S(x0)', '0'"]),
        ("a", [f"{s}.a=0"], [f"{s}.a = 0.0", "must be > 0"]),
        ("b", [f"{s}.b=-1"], [f"{s}.b = -1.0", "must be > 0"]),
        ("eps", [f"{s}.eps=0"], [f"{s}.eps = 0.0", "must be > 0"]),
        ("T", [f"{s}.T=0.01"], [f"{s}.T = 0.01 is shorter than one step", f"{s}.gammas"]),
        ("gammas", [f"{s}.gammas=[]"], [f"{s}.gammas = []", "non-empty list"]),
        ("n_paths", [f"{s}.n_paths=1"], [f"{s}.n_paths = 1", "integer >= 2"]),
        ("substeps", [f"{s}.substeps=0"], [f"{s}.substeps = 0", "integer >= 1"]),
        ("basis.legendre", [f"{s}.basis.legendre=-1"],
         [f"{s}.basis.legendre = -1", "integer >= 0"]),
        ("basis.decay_rates", [f"{s}.basis.decay_rates=[-1.0]"],
         [f"{s}.basis.decay_rates[0] = -1.0", "must be > 0"]),
    ]
] + [
    ("correlated.problem", ["correlated.problem={name='double-well'}"],
     ["correlated.problem = {'name': 'double-well'}", "correlated-quadratic"]),
    ("stationary.problem", ["stationary.problem.A=[[1.0, 2.0], [2.0, 1.0]]"],
     ["stationary.problem", "positive definite"]),
    ("regression.problem", ["regression.problem={name='logistic-regression', "
                            "dataset='breast-cancer'}"],
     ["regression.problem = ", "no compiled gradient-noise moments"]),
    ("correlated.antithetic", ["correlated.antithetic=1"],
     ["correlated.antithetic", "must be a bool"]),
    ("stationary.antithetic", ["stationary.antithetic='yes'"],
     ["stationary.antithetic", "must be a bool"]),
    ("regression.antithetic", ["regression.antithetic=true"],
     ["regression.antithetic = true", "unknown key of the table regression"]),
    ("stationary.expected.ode", ["stationary.expected.ode=0"],
     ["stationary.expected.ode = 0", "must be > 0"]),
    ("stationary.expected.sde1", ["stationary.expected.sde1=-2"],
     ["stationary.expected.sde1 = -2", "must be > 0"]),
    ("stationary.expected.sde2", ["stationary.expected.sde2=0"],
     ["stationary.expected.sde2 = 0", "must be > 0"]),
    ("correlated.expected", ["correlated.expected={sde3 = 1}"],
     ["correlated.expected.sde3 = 1", "unknown key"]),
    ("correlated.basis", ["correlated.basis.order=3"],
     ["correlated.basis.order = 3", "unknown key"]),
    ("correlated", ["correlated.foo=1"], ["correlated.foo = 1", "unknown key"]),
    ("stationary.gammas", ["stationary.gammas=[0.0]"],
     ["stationary.gammas[0] = 0.0", "must be > 0"]),
    ("correlated.gammas", ["correlated.a=20.0"],
     ["correlated.gammas[0] = 0.1", "a*gamma must be < 1"]),
    ("seed", ["seed=-1"], ["seed", ">= 0"]),
]

BAD = [
    # lyapunov
    ("lyapunov", "problem", ["problem.sigma=-1"], ["problem", "sigma must be >= 0"]),
    ("lyapunov", "x0", ["x0=[1e200, 1.0]"], ["x0 = [1e+200, 1.0]", "not finite"]),
    ("lyapunov", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("lyapunov", "T", ["T=0.0001"], ["T = 0.0001 is shorter than one step", "discrete_gamma"]),
    ("lyapunov", "pairs", ["pairs=[[1.0, -1.0]]"], ["pairs[0][1] = -1.0", "must be > 0"]),
    ("lyapunov", "pairs", ["pairs=[[1.0]]"], ["pairs[0] = [1.0]", "[a, b]"]),
    ("lyapunov", "pairs", ["pairs=[]"], ["pairs = []", "non-empty"]),
    ("lyapunov", "a_values", ["a_values=[2.0, 1.0]"], ["a_values = [2.0, 1.0]", "increasing"]),
    ("lyapunov", "b_values", ["b_values=[]"], ["b_values = []", "non-empty"]),
    ("lyapunov", "discrete_gamma", ["discrete_gamma=0.1"],
     ["discrete_gamma = 0.1", "b*gamma must be < 1", "pairs[5] = [1.0, 20.0]"]),
    ("lyapunov", "discrete_runs", ["discrete_runs=0"], ["discrete_runs = 0", "integer >= 1"]),
    ("lyapunov", "n_times", ["n_times=1"], ["n_times = 1", "integer >= 2"]),
    ("lyapunov", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # minibatch
    ("minibatch", "dataset", ["dataset=iris"], ["dataset = 'iris'", "must be one of"]),
    ("minibatch", "batch_sizes", ["batch_sizes=[0]"], ["batch_sizes[0] = 0", "integer >= 1"]),
    ("minibatch", "batch_sizes", ["batch_sizes=[]"], ["batch_sizes = []", "non-empty"]),
    ("minibatch", "n_batches", ["n_batches=1"], ["n_batches = 1", "integer >= 2"]),
    ("minibatch", "eta_fractions", ["eta_fractions=[1.5]"],
     ["eta_fractions[0] = 1.5", "must lie in (0, 1]"]),
    ("minibatch", "eta_fractions", ["eta_fractions=[0.5, 0.5]"],
     ["eta_fractions[1] = 0.5", "repeats eta_fractions[0]"]),
    ("minibatch", "grid_batch_sizes", ["grid_batch_sizes=[]"],
     ["grid_batch_sizes = []", "non-empty"]),
    ("minibatch", "grid_batch_sizes", ["grid_batch_sizes=[4, 4]"],
     ["grid_batch_sizes[1] = 4", "repeats"]),
    ("minibatch", "horizons", ["horizons=[0]"], ["horizons[0] = 0", "integer >= 1"]),
    ("minibatch", "n_runs", ["n_runs=1"], ["n_runs = 1", "integer >= 2"]),
    ("minibatch", "kappa", ["kappa=1000.0"], ["kappa = 1000.0", "overflows"]),
    ("minibatch", "kappa", ["kappa=0"], ["kappa = 0.0", "must be > 0"]),
    ("minibatch", "T_decreasing", ["T_decreasing=0"], ["T_decreasing = 0", "must be > 0"]),
    ("minibatch", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # nesterov
    ("nesterov", "problem", ["problem={name='double-well'}"],
     ["problem = {'name': 'double-well'}", "unique minimizer"]),
    ("nesterov", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("nesterov", "eta", ["eta=0.6"], ["eta = 0.6", "1/L = 0.5"]),
    ("nesterov", "eta", ["eta=0"], ["eta = 0.0", "must be > 0"]),
    ("nesterov", "n_steps", ["n_steps=0"], ["n_steps = 0", "integer >= 1"]),
    ("nesterov", "seed_window", ["seed_window=[5, 100]"],
     ["seed_window = [5, 100]", "k_hi <= n_steps = 40"]),
    ("nesterov", "flat_d", ["flat_d=0"], ["flat_d = 0", "integer >= 1"]),
    ("nesterov", "flat_h_min", ["flat_h_min=1.0"], ["flat_h_min = 1.0", "must lie in (0, 1)"]),
    ("nesterov", "flat_n_steps", ["flat_n_steps=0"], ["flat_n_steps = 0", "integer >= 1"]),
    ("nesterov", "flat_gd_window", ["flat_gd_window=[100, 20000]"],
     ["flat_gd_window = [100, 20000]", "flat_n_steps = 10000"]),
    ("nesterov", "flat_nesterov_window", ["flat_nesterov_window=[10]"],
     ["flat_nesterov_window = [10]", "[k_lo, k_hi]"]),
    ("nesterov", "flat_ode_k_max", ["flat_ode_k_max=500"],
     ["flat_ode_k_max = 500", "flat_nesterov_window[1] = 1000"]),
    ("nesterov", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # quadratic-d100
    ("quadratic-d100", "problem", ["problem={name='double-well'}"],
     ["problem = {'name': 'double-well'}", "stochastic-quadratic"]),
    ("quadratic-d100", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 100 entries"]),
    ("quadratic-d100", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("quadratic-d100", "b", ["b=-1"], ["b = -1.0", "must be > 0"]),
    ("quadratic-d100", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("quadratic-d100", "T", ["T=0.005"], ["T = 0.005 is shorter than one step"]),
    ("quadratic-d100", "T", ["T=0.001", "gammas=[0.0001]"], ["T = 0.001", "must be > 0.001"]),
    ("quadratic-d100", "gammas", ["gammas=[0.01, 0.010000001]"],
     ["gammas[1] = 0.010000001", "repeats gammas[0]"]),
    ("quadratic-d100", "gammas", ["gammas=[0.2]"], ["gammas[0] = 0.2", "a*gamma must be < 1"]),
    ("quadratic-d100", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("quadratic-d100", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # reddi
    ("reddi", "C", ["C=0"], ["C = 0.0", "must be > 0"]),
    ("reddi", "alpha", ["alpha=-1"], ["alpha = -1.0", "must be > 0"]),
    ("reddi", "T_online", ["T_online=0"], ["T_online = 0", "must be > 0"]),
    ("reddi", "map_beta2", ["map_beta2=[0.5, 1.0]"], ["map_beta2[1] = 1.0", "[0, 1)"]),
    ("reddi", "map_C", ["map_C=[20.0, 2.5]"], ["map_C = [20.0, 2.5]", "low < high"]),
    ("reddi", "map_points", ["map_points=1"], ["map_points = 1", "integer >= 2"]),
    ("reddi", "C_stochastic", ["C_stochastic=0"], ["C_stochastic = 0.0", "must be > 0"]),
    ("reddi", "delta", ["delta=30.0"], ["delta = 30.0", "probability"]),
    ("reddi", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("reddi", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("reddi", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("reddi", "T", ["T=0.1"], ["T = 0.1 is shorter than one step"]),
    ("reddi", "gammas", ["gammas=[0.1, 0.1]"], ["gammas[1] = 0.1", "repeats gammas[0]"]),
    ("reddi", "gammas", ["gammas=[0.6]"], ["gammas[0] = 0.6", "a*gamma must be < 1"]),
    ("reddi", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("reddi", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # scaling-rule
    ("scaling-rule", "h", ["h=[1.0, -1.0]"], ["h[1] = -1.0", "must be > 0"]),
    ("scaling-rule", "h", ["h=[]"], ["h = []", "non-empty"]),
    ("scaling-rule", "sigma", ["sigma=0"], ["sigma = 0.0", "must be > 0"]),
    ("scaling-rule", "batch_size", ["batch_size=0"], ["batch_size = 0", "integer >= 1"]),
    ("scaling-rule", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("scaling-rule", "kappas", ["kappas=[]"], ["kappas = []", "non-empty"]),
    ("scaling-rule", "kappas", ["kappas=[200]"], ["kappas[0] = 200", "a*gamma must be < 1",
                                                 "rule 'adam-sqrt'"]),
    ("scaling-rule", "kappas", ["rules=['sgd-linear']", "kappas=[8001]"],
     ["kappas[0] = 8001", "fewer than one"]),
    ("scaling-rule", "n_steps", ["n_steps=0"], ["n_steps = 0", "integer >= 1"]),
    ("scaling-rule", "n_runs", ["n_runs=1"], ["n_runs = 1", "integer >= 2"]),
    ("scaling-rule", "confidence", ["confidence=1.0"], ["confidence = 1.0", "(0, 1)"]),
    ("scaling-rule", "rules", ["rules=[]"], ["rules = []", "non-empty"]),
    ("scaling-rule", "rules", ["rules=['adam-sqrt', 'adam-sqrt']"],
     ["rules[1] = 'adam-sqrt'", "repeats rules[0]"]),
    ("scaling-rule", "adam.gamma", ["adam.gamma=0.6"], ["adam: a*gamma must be < 1"]),
    ("scaling-rule", "adam.gamma", ["adam.gamma=0"], ["adam.gamma = 0.0", "must be > 0"]),
    ("scaling-rule", "adam.a", ["adam.a=0"], ["adam.a = 0.0", "must be > 0"]),
    ("scaling-rule", "adam.b", ["adam.b=-1"], ["adam.b = -1.0", "must be > 0"]),
    ("scaling-rule", "adam.eps", ["adam.eps=0"], ["adam.eps = 0.0", "must be > 0"]),
    ("scaling-rule", "adam", ["adam.gama=0.1"], ["adam.gama = 0.1", "unknown key"]),
    ("scaling-rule", "sgd.gamma", ["sgd.gamma=0"], ["sgd.gamma = 0.0", "must be > 0"]),
    ("scaling-rule", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # weak-convergence
    ("weak-convergence", "problem", ["problem.p=2"], ["problem", "p must lie in (0, 1)"]),
    ("weak-convergence", "x0", ["x0=[1.0]"], ["x0 = [1.0]", "must have 2 entries"]),
    ("weak-convergence", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("weak-convergence", "a", ["a=20.0"], ["gammas[0] = 0.1", "a*gamma must be < 1"]),
    ("weak-convergence", "b", ["b=-1"], ["b = -1.0", "must be > 0"]),
    ("weak-convergence", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("weak-convergence", "T", ["T=0.05"], ["T = 0.05 is shorter than one step"]),
    ("weak-convergence", "gammas", ["gammas=[0.1]"], ["gammas = [0.1]", "2 distinct"]),
    ("weak-convergence", "gammas", ["gammas=[]"], ["gammas = []", "non-empty"]),
    ("weak-convergence", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("weak-convergence", "delta", ["delta=0"], ["delta = 0.0", "must be > 0"]),
    ("weak-convergence", "seed", ["seed=-1"], ["seed", ">= 0"]),
    # weak-error
    *[("weak-error", key, sets, fragments) for key, sets, fragments in STUDY_CASES],
    # weight-decay
    ("weight-decay", "problem", ["problem={name='double-well'}"],
     ["problem = {'name': 'double-well'}", "logistic-regression"]),
    ("weight-decay", "problem.l2", ["problem.l2=0.1"], ["problem.l2 = 0.1", "weight_decay"]),
    ("weight-decay", "problem.dataset", ["problem.dataset=iris"], ["problem", "iris"]),
    ("weight-decay", "problem.batch_size", ["problem.batch_size=0"],
     ["problem", "batch_size must be an integer >= 1"]),
    ("weight-decay", "weight_decay", ["weight_decay=300.0"],
     ["weight_decay = 300.0", "weight_decay*gamma must be < 1"]),
    ("weight-decay", "gamma", ["gamma=0.2"], ["gamma = 0.2", "a*gamma must be < 1"]),
    ("weight-decay", "a", ["a=0"], ["a = 0.0", "must be > 0"]),
    ("weight-decay", "b", ["b=0"], ["b = 0.0", "must be > 0"]),
    ("weight-decay", "eps", ["eps=0"], ["eps = 0.0", "must be > 0"]),
    ("weight-decay", "T", ["T=0.001"], ["T = 0.001 is shorter than one step"]),
    ("weight-decay", "n_runs", ["n_runs=0"], ["n_runs = 0", "integer >= 1"]),
    ("weight-decay", "seed", ["seed=-1"], ["seed", ">= 0"]),
]


@pytest.mark.parametrize("name, key, sets, fragments", BAD,
                         ids=[f"{n}:{' '.join(s)}" for n, _, s, _ in BAD])
def test_a_bad_value_is_one_line_naming_the_key(name, key, sets, fragments, capsys,
                                                tmp_path, monkeypatch):
    check_bad_value(capsys, tmp_path, monkeypatch, name, sets, fragments)


@pytest.mark.parametrize("name", GROUP_B)
def test_every_key_has_a_bad_value_above(name):
    missing = uncovered_keys(BAD, name)
    assert not missing, missing


@pytest.mark.parametrize("name", GROUP_B)
def test_the_shipped_config_passes_its_checks(name, tmp_path):
    check_shipped_config(name, tmp_path)


# ----------------------------------------------------------------------------- reported defects


def test_a_start_where_S_overflows_is_refused_not_a_solver_traceback(capsys):
    line = cli_error(capsys, "weak-convergence", "x0=[1e200,1e200]")
    assert "x0 = [1e+200, 1e+200]: F, its gradient or S is not finite there" in line


def test_a_zero_step_names_its_index(capsys):
    line = cli_error(capsys, "weak-convergence", "gammas=[0.0]")
    assert "gammas[0] = 0.0: must be > 0 (allowed range (0, inf))" in line


def test_a_negative_weight_decay_names_the_key(capsys):
    line = cli_error(capsys, "weight-decay", "weight_decay=-0.05")
    assert "weight_decay = -0.05: must be >= 0 (allowed range [0, inf))" in line


def test_weight_decay_refuses_a_problem_that_is_not_logistic_regression(capsys):
    line = cli_error(capsys, "weight-decay", "problem=stochastic-quadratic")
    assert "problem = {'name': 'stochastic-quadratic'}: must be a logistic-regression" in line


def test_weight_decay_zero_on_separable_data_has_no_rest_point(capsys, tmp_path):
    data = tmp_path / "separable.csv"  # y = 1 exactly where x1 + x2 > 0
    data.write_text("1.0,2.0,1\n2.0,1.0,1\n-1.0,-2.0,0\n-2.0,-1.0,0\n1.5,1.5,1\n-1.5,-1.0,0\n")
    problem = f"problem={{name='logistic-regression', data='{data}', batch_size=2}}"
    line = cli_error(capsys, "weight-decay", problem, "weight_decay=0.0")
    assert "weight_decay = 0.0: without a penalty F has no minimizer" in line
    assert main(["run", "weight-decay", "--set", problem, "--dry-run",
                 "--out", str(tmp_path / "out")]) == 0  # with the default λ > 0 it runs


def test_a_zero_batch_factor_is_refused_not_a_zero_division(capsys):
    line = cli_error(capsys, "scaling-rule", "kappas=[0,2]")
    assert "kappas[0] = 0: must be > 0" in line


def test_an_unknown_rule_is_a_one_line_error_naming_the_allowed_rules(capsys):
    line = cli_error(capsys, "scaling-rule", 'rules=["bogus"]')
    assert "rules[0] = 'bogus': must be one of 'adam-sqrt', 'adam-linear', 'adam-unscaled', " \
           "'sgd-linear'" in line
    with pytest.raises(ExperimentError, match=r"rules\[0\]"):
        run_experiment("scaling-rule", overrides=['rules=["bogus"]'], dry_run=True)


@pytest.mark.parametrize("points", [0, 1])
def test_a_map_with_fewer_than_two_points_is_refused(points, capsys):
    line = cli_error(capsys, "reddi", f"map_points={points}")
    assert f"map_points = {points}: must be an integer >= 2" in line


def test_two_map_points_are_enough(tmp_path):
    rec = run_experiment("reddi", overrides=["map_points=2", "T_online=30", "gammas=[0.3]",
                                             "n_runs=5", "T=3.0"],
                         out_dir=tmp_path, quiet=True, workers=1)
    assert rec.summary["warnings"] == []
    assert rec.result.arrays["map_x_final"].shape == (2, 2)


@pytest.mark.parametrize("sets, fragment", [
    (["correlated.n_paths=1"], "correlated.n_paths = 1: must be an integer >= 2"),
    (["stationary.gammas=[0.1, 0.0]"], "stationary.gammas[1] = 0.0: must be > 0"),
    (["regression.basis.legendre=-2"], "regression.basis.legendre = -2: must be an integer >= 0"),
    (["stationary.basis.decay_rates=[0.5, 0.0]"],
     "stationary.basis.decay_rates[1] = 0.0: must be > 0"),
])
def test_weak_error_names_nested_keys_with_their_full_path(sets, fragment, capsys):
    assert fragment in cli_error(capsys, "weak-error", *sets)


def test_weak_error_skips_the_checks_of_a_disabled_study_as_its_run_does(capsys, tmp_path):
    bad = ["correlated.substeps=0", "correlated.v0='later'"]
    assert "correlated.v0 = 'later'" in cli_error(capsys, "weak-error", *bad)
    args = ["run", "weak-error", "--dry-run", "--out", str(tmp_path / "out")]
    for item in [*bad, "correlated.enabled=false"]:
        args += ["--set", item]
    assert main(args) == 0, capsys.readouterr().err
    line = cli_error(capsys, "weak-error", "correlated.enabled=false",
                     "stationary.enabled=false", "regression.enabled=false")
    assert "every study is disabled" in line and "regression.enabled" in line


def test_weak_error_in_a_users_file_needs_every_key_of_a_study(tmp_path, capsys):
    text = ex.config_text("weak-error")
    text = 'experiment = "weak-error"\n' + text.replace("substeps = 2      # Heun", "# Heun", 1)
    (tmp_path / "mine.toml").write_text(text)
    assert main(["run", str(tmp_path / "mine.toml"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "correlated.substeps: missing" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- cost estimates


def test_lyapunov_estimate_counts_the_ode_solves():
    # n_times changes only the evaluation grid of the solves, not the Monte Carlo
    assert estimate("lyapunov", "n_times=400001").run_steps > \
        estimate("lyapunov", "n_times=4001").run_steps


def test_nesterov_estimate_counts_the_sbc_ode():
    assert estimate("nesterov", "flat_ode_k_max=10000").run_steps > \
        estimate("nesterov", "flat_ode_k_max=1000").run_steps


def test_minibatch_estimate_counts_the_gradient_norm_of_every_recorded_iterate():
    config = ex.resolve_config("minibatch")
    est = ex.estimate("minibatch", config)
    grid = (len(config["eta_fractions"]) * len(config["grid_batch_sizes"]) * config["n_runs"]
            * max(config["horizons"]))
    # each recorded iterate's ‖∇F‖² uses all n = 442 samples
    assert est.run_steps > 100 * grid
    assert est.memory_bytes >= 2 * config["n_runs"] * max(config["horizons"]) * 442 * 8


def test_reddi_estimate_counts_its_python_loop_even_for_one_run():
    est = estimate("reddi", "n_runs=1", "gammas=[1e-5]")  # a loop of 3e6 iterations
    assert est.seconds(1) > 3e6 * 1e-6


# ----------------------------------------------------------------------------- redraw

TINY = {
    "lyapunov": ["pairs=[[1.0, 1.0], [1.0, 20.0]]", "a_values=[1.0]", "b_values=[1.0, 20.0]",
                 "T=2.0", "n_times=201", "discrete_runs=10", "discrete_gamma=0.01"],
    "minibatch": ["batch_sizes=[1, 8]", "n_batches=200", "horizons=[10, 50]", "n_runs=5",
                  "T_decreasing=200", "eta_fractions=[0.25, 0.5]", "grid_batch_sizes=[1, 16]"],
    "nesterov": ["flat_d=20", "flat_n_steps=500", "flat_gd_window=[10, 500]",
                 "flat_nesterov_window=[5, 100]", "flat_ode_k_max=100", "n_steps=20"],
    "quadratic-d100": ["problem.d=10", "T=5.0", "gammas=[0.01, 0.005]", "n_runs=3"],
    "reddi": ["T_online=300", "map_points=4", "gammas=[0.3, 0.1]", "n_runs=10", "T=5.0"],
    "scaling-rule": ["n_steps=400", "n_runs=200", "kappas=[1, 2]"],
    "weak-convergence": ["gammas=[0.1, 0.01]", "n_runs=20", "T=2.0"],
    # stationary off: the redrawn figure has the rows of the studies run, not all three
    "weak-error": ["correlated.gammas=[0.1, 0.05]", "correlated.n_paths=100",
                   "stationary.enabled=false", "regression.gammas=[0.1, 0.05]",
                   "regression.n_paths=100"],
    "weight-decay": ["T=10.0", "gamma=0.01", "n_runs=3"],
}


@pytest.mark.parametrize("name", GROUP_B)
def test_redraw_gives_the_runs_figure_again(name, tmp_path):
    rec = run_experiment(name, overrides=TINY[name], out_dir=tmp_path / "run", quiet=True,
                         workers=2)
    again = redraw(tmp_path / "run", out=tmp_path / "again.png")
    assert again.read_bytes() == (tmp_path / "run" / "figure.png").read_bytes()
    figure = redraw_run(tmp_path / "run")
    assert len(figure.axes) == len(rec.result.figure.axes)
    assert labels(figure) == labels(rec.result.figure)
    assert any(title for title, _, _ in labels(figure))
