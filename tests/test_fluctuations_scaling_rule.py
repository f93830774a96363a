"""The scaling-rule experiment on a reduced config: the square-root rule (Adam) and the linear
rule (SGD) keep Var x at fixed t, Adam's linear rule does not (ratio ≈ √κ, growing with κ)."""

import numpy as np

from adam_ode.experiments import load_config, run_experiment
from adam_ode.runners.scaling_rule import estimate, variance_ratio


def test_scaling_rule_reduced(tmp_path):
    rec = run_experiment("scaling-rule", overrides={
        "kappas": [1, 2, 8], "n_runs": 1500,
        "rules": ["adam-sqrt", "adam-linear", "sgd-linear"]}, out_dir=tmp_path, quiet=True)
    rules = rec.summary["rules"]
    for rule in ("adam-sqrt", "sgd-linear"):
        for row in rules[rule]:
            r, lo, hi = map(np.array, (row["var_ratio"], row["ci_low"], row["ci_high"]))
            # 95 % CI, widened by 1.5 in log to keep 12 comparisons from failing by chance
            assert np.all(np.abs(np.log(r)) < 1.5 * np.log(hi / r)), (rule, row)
            assert np.allclose(row["lna_var_ratio"], 1.0, rtol=1e-6), row
            assert min(row["ks_pvalue"]) > 1e-3, (rule, row)
    lin = rules["adam-linear"]
    ratios = np.array([row["var_ratio"] for row in lin])  # (κ, d)
    assert np.all(np.diff(ratios, axis=0) > 0), ratios
    assert np.all(np.abs(ratios[-1] / np.sqrt(8) - 1) < 0.2), ratios
    assert np.all(np.array(lin[-1]["ci_low"]) > 1.5), lin[-1]
    assert max(lin[-1]["ks_pvalue"]) < 1e-6, lin[-1]
    assert (tmp_path / "figure.png").exists()


def test_variance_ratio_interval_covers_gaussian():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        r, lo, hi = variance_ratio(rng.standard_normal((500, 1)), rng.standard_normal((500, 1)))
        hits += int(lo[0] <= 1.0 <= hi[0])
    assert 180 <= hits <= 199, hits  # 95 % nominal: 190 expected


def test_estimate():
    config, _ = load_config("scaling-rule")
    cost = estimate(config)
    assert cost.run_steps > 0 and cost.memory_bytes > 0
    assert cost.seconds(2) < 60


def test_separable_sde_kernel_is_bit_identical_to_the_generic_one():
    """The speed path of simulate_sde (order 1, separable problems: per-coordinate 2×2 factors)
    reproduces the generic kernel exactly, with and without debiasing, for any worker count."""
    from adam_ode import Adam, DoubleWell, StochasticQuadratic
    from adam_ode.fluctuations import simulate_sde

    cases = [(StochasticQuadratic(h=[1.0, 0.5, 0.1], sigma=[1.0, 0.0, 0.3]),
              Adam(0.01, 2.0, 1.0, 0.1), [1.0, -0.5, 2.0]),
             (StochasticQuadratic(h=[1.0, 0.5], sigma=1.0), Adam(0.01, 2.0, 1.0, 0.1,
                                                                 debias=False), [1.0, -0.5]),
             (DoubleWell(), Adam(0.02, 3.0, 1.0, 1e-8), [0.7, 0.7])]
    for problem, opt, x0 in cases:
        fast = simulate_sde(problem, opt, x0, 2.0, 40, 3, record_every=7, workers=2,
                            variant="gaussian")
        ref = simulate_sde(problem, opt, x0, 2.0, 40, 3, record_every=7, workers=1,
                           kernel="generic", variant="gaussian")
        assert fast.config["kernel"] == "separable" and ref.config["kernel"] == "generic"
        assert np.array_equal(fast.final_state, ref.final_state)
        assert np.array_equal(fast.record, ref.record)
