"""analysis.long_run: ergodic fraction outside the δ-neighbourhood of 𝒮; decreasing vs constant."""

import numpy as np
import pytest

from adam_ode import Adam, AdamDecreasing
from adam_ode.analysis.long_run import (compare_decreasing_constant, ergodic_study,
                                        log_spaced_steps)
from adam_ode.problems import DoubleWell, StochasticQuadratic

A, B, EPS = 1.0, 1.0, 0.01
ADAM = Adam(0.1, A, B, EPS)  # ergodic_study runs ADAM.replace(gamma=γ) for each γ


def test_ergodic_fraction_decreases_with_gamma():
    problem = DoubleWell(2, 0.5)
    records = ergodic_study(problem, ADAM, [0.3, -1.8], [0.2, 0.05, 0.01], horizon=60.0,
                            n_runs=8, delta=0.1, seed=1, workers=2, burn_in=10.0)
    frac = [r.fraction_outside for r in records]
    assert frac[0] > frac[1] > frac[2], frac
    assert frac[0] > 0.5 and frac[2] < 0.1, frac
    for r in records:
        assert r.n_steps == int(np.floor(60.0 / r.gamma * (1 + 1e-12)))
        assert r.burn_in == int(np.floor(10.0 / r.gamma))
        assert r.ci95[0] <= r.fraction_outside <= r.ci95[1]
        assert 0.0 <= r.final_outside_ci95[0] <= r.final_outside <= r.final_outside_ci95[1] <= 1
        assert r.n_diverged == 0


def test_ergodic_study_independent_of_workers():
    problem = StochasticQuadratic([1.0, 4.0], 0.5)
    kw = dict(gammas=[0.1, 0.02], horizon=10.0, n_runs=5, delta=0.05, seed=3)
    one = ergodic_study(problem, ADAM, [1.0, 1.0], workers=1, **kw)
    two = ergodic_study(problem, ADAM, [1.0, 1.0], workers=2, **kw)
    assert [r.as_dict() for r in one] == [r.as_dict() for r in two]


def test_ergodic_study_rejects_bad_burn_in():
    with pytest.raises(ValueError, match="burn_in"):
        ergodic_study(DoubleWell(), ADAM, [1.0, 1.0], [0.1], horizon=5.0, n_runs=2,
                      delta=0.1, seed=0, burn_in=5.0)


def test_decreasing_step_ends_closer_than_constant_step():
    problem = DoubleWell(2, 0.5)
    curves = compare_decreasing_constant(problem, [0.3, -1.8], Adam(0.05, A, B, EPS),
                                         AdamDecreasing(0.2, 0.6, A, B, EPS),
                                         n_steps=30000, n_runs=8, seed=2, workers=2)
    assert curves.constant.shape == curves.decreasing.shape == (8, curves.steps.size)
    const = np.median(curves.final_distances("constant"))
    dec = np.median(curves.final_distances("decreasing"))
    assert dec < 0.5 * const, (dec, const)
    assert curves.tail_median("decreasing") < curves.tail_median("constant")
    # Both start at x0: d(x_0, S) is the same for every run.
    np.testing.assert_allclose(curves.constant[:, 0], problem.critical_distance([0.3, -1.8]),
                               rtol=0, atol=1e-15)
    assert curves.decreasing_times[-1] == pytest.approx(
        np.sum(0.2 * np.arange(1, 30001) ** -0.6), rel=1e-12)


def test_log_spaced_steps():
    steps = log_spaced_steps(1000, 50)
    assert steps[0] == 0 and steps[1] == 1 and steps[-1] == 1000
    assert np.all(np.diff(steps) > 0)


def test_a_seed_sequence_argument_is_not_consumed():
    # Passing the same SeedSequence twice must give the same streams (spawn() would mutate it).
    problem = StochasticQuadratic([1.0, 4.0], 0.5)
    root = np.random.SeedSequence(11)
    kw = dict(gammas=[0.1, 0.02], horizon=5.0, n_runs=3, delta=0.05)
    first = ergodic_study(problem, ADAM, [1.0, 1.0], seed=root, **kw)
    second = ergodic_study(problem, ADAM, [1.0, 1.0], seed=root, **kw)
    by_int = ergodic_study(problem, ADAM, [1.0, 1.0], seed=11, **kw)
    assert [r.as_dict() for r in first] == [r.as_dict() for r in second]
    assert [r.as_dict() for r in first] == [r.as_dict() for r in by_int]
    assert root.n_children_spawned == 0


def test_ergodic_study_takes_any_constant_step_record():
    # Each γ runs optimizer.replace(gamma=γ): the record's other hyperparameters stay as given.
    from adam_ode import SGD

    problem, x0 = DoubleWell(d=2, sigma=0.5), [0.3, -1.7]
    from_small = ergodic_study(problem, Adam(0.01, 1.0, 1.0, 0.01), x0, [0.1, 0.05], 20.0, 8,
                               0.1, 4, burn_in=5.0)
    from_large = ergodic_study(problem, Adam(0.1, 1.0, 1.0, 0.01), x0, [0.1, 0.05], 20.0, 8,
                               0.1, 4, burn_in=5.0)
    assert [r.fraction_outside for r in from_small] == [r.fraction_outside for r in from_large]
    sgd = ergodic_study(problem, SGD(0.1), x0, [0.1, 0.01], 20.0, 8, 0.1, 4, burn_in=5.0)
    assert sgd[1].fraction_outside < sgd[0].fraction_outside  # smaller steps stay closer
