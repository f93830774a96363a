"""adam_ode.fluctuations.coupled: the noise control sums of the common-draw paths."""

import numpy as np
from numpy.testing import assert_allclose

from adam_ode.analysis.weak_error import time_basis
from adam_ode.fluctuations import CorrelatedQuadratic
from adam_ode.fluctuations.coupled import coupled_paths
from adam_ode.optimizers import Adam

PROBLEM = CorrelatedQuadratic()
X0 = np.array([1.0, -0.5])
Z0 = np.concatenate([X0, np.zeros(2), PROBLEM.S(X0)])
OPT = Adam(0.05, 2.0, 0.25, 0.1, debias=False)


def test_controls_leave_the_paths_unchanged_and_flip_with_the_draws():
    W = time_basis(20, 1.0, 2)
    plain, none = coupled_paths(PROBLEM, OPT, Z0, 1.0, 6, 4, substeps=2, antithetic=True,
                                workers=2)
    final, ctl = coupled_paths(PROBLEM, OPT, Z0, 1.0, 6, 4, substeps=2, antithetic=True,
                               workers=1, time_weights=W)
    assert np.array_equal(plain, final) and none.shape == (6, 2, 0)
    kinds = ctl.reshape(6, 2, 3, 2, 2)  # (path, twin, kind, basis row, coordinate)
    # the linear sums change sign with the draws, the quadratic one (Lξ)² − diag Σ does not
    assert_allclose(kinds[:, 1, [0, 2]], -kinds[:, 0, [0, 2]], rtol=1e-13, atol=1e-13)
    assert_allclose(kinds[:, 1, 1], kinds[:, 0, 1], rtol=1e-13, atol=1e-13)


def test_controls_have_mean_zero():
    _, ctl = coupled_paths(PROBLEM, OPT, Z0, 1.0, 4000, 9, substeps=2, antithetic=False,
                           time_weights=time_basis(20, 1.0, 3, [1.0]))
    c = ctl[:, 0]
    z = c.mean(0) / (c.std(0, ddof=1) / np.sqrt(c.shape[0]))
    assert np.all(np.abs(z) < 4.5), np.round(z, 2)


def test_control_variate_stderr_matches_the_spread_over_replications():
    # The reported standard error of a controlled weak-error estimate is the spread of that
    # estimate over independent replications (ratio 1 within its sampling error ~0.11).
    from adam_ode.analysis.weak_error import control_variate_mean

    W = time_basis(40, 2.0, 4)
    est, se = {"x2": [], "v2": []}, {"x2": [], "v2": []}
    for s in np.random.SeedSequence(2024).spawn(40):
        final, ctl = coupled_paths(PROBLEM, OPT, Z0, 2.0, 400, s, substeps=2, antithetic=False,
                                   time_weights=W)
        for p, cols in (("x2", slice(0, 2)), ("v2", slice(4, 6))):
            f = (final[:, 0, :, cols] ** 2).sum(-1)
            e, s_e = control_variate_mean(f[:, 0] - f[:, 2], ctl[:, 0])
            est[p].append(e)
            se[p].append(s_e)
    for p, values in est.items():
        ratio = np.std(values, ddof=1) / np.mean(se[p])
        assert abs(ratio - 1.0) < 0.35, (p, ratio)
