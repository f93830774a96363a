"""Regenerate ``golden.npz``: outputs of the optimizers that existed before the optimizer family
moved onto one spec, recorded from that code (commit 1040cd2) and kept as the safety net of every
later kernel change. ``tests/test_golden.py`` checks that today's code gives the same bits.

Run from the repository root: ``python tests/golden/make_golden.py`` (only to extend the cases;
rerunning it with today's code would just confirm them).

Each case records, per problem of ``tests/cases.py`` and per optimizer:

- the path of ``run_optimizer`` (noisy and exact gradients), and
- a Monte Carlo with every streamed statistic on (reference, δ, ‖∇F‖, burn-in, recording,
  divergence), for 1 and 2 workers, with an odd number of runs (so that paired Adam runs and a
  run left alone are both exercised) and a divergence bound some runs cross.

Paths are stored in the layout of their time: z = (x, m, v), width 3d, for every optimizer;
the test maps them onto the optimizers' own state slots.
"""

import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cases import PROBLEMS  # noqa: E402

from adam_ode import (SGD, Adam, AdamDecreasing, DivergenceWarning, LinearRegression2D,  # noqa: E402
                      MomentumSGD, RMSProp)
from adam_ode.iterates import run_optimizer  # noqa: E402
from adam_ode.montecarlo import monte_carlo  # noqa: E402

# name -> (constructor keyword arguments, class)
OPTIMIZERS = {
    "adam": (Adam, dict(gamma=0.01, a=2.0, b=3.0, eps=1e-8)),
    "adam-nodebias": (Adam, dict(gamma=0.01, a=2.0, b=3.0, eps=1e-8, debias=False)),
    "adam-kingma": (Adam, dict(gamma=1e-3, a=100.0, b=1.0, eps=1e-8)),
    "adam-decreasing": (AdamDecreasing, dict(gamma0=0.2, kappa=0.8, a=2.0, b=3.0, eps=1e-8)),
    "sgd": (SGD, dict(gamma=0.02)),
    "momentum-sgd": (MomentumSGD, dict(gamma=0.02, a=4.0)),
    "rmsprop": (RMSProp, dict(gamma=0.01, b=3.0, eps=1e-8)),
    "rmsprop-nodebias": (RMSProp, dict(gamma=0.01, b=3.0, eps=1e-8, debias=False)),
}
N_STEPS = 120
MC_STEPS = 200
MC_RUNS = 7


# The recorded cases' names (those of tests/cases.py when they were recorded) -> today's cases:
# the same instances and starts.
GOLDEN_NAMES = {"linreg2d": "linear-regression-2d", "quadratic": "stochastic-quadratic",
                "double-well": "double-well", "least-squares": "least-squares",
                "least-squares-b4": "least-squares-b4"}


def golden_problems():
    problems = {old: PROBLEMS[new] for old, new in GOLDEN_NAMES.items()}
    problems["linreg2d-noisy"] = (LinearRegression2D(sigma=2.0), np.array([0.3, -0.2]))
    return problems


def main():
    out = {}
    for pname, (problem, x0) in golden_problems().items():
        d = problem.dim
        for oname, (cls, kw) in OPTIMIZERS.items():
            opt = cls(**kw)
            key = f"{pname}|{oname}"
            for noise in (True, False):
                out[f"{key}|path|noise={noise}"] = run_optimizer(problem, opt, x0, N_STEPS, 11,
                                                                 noise=noise)
            reference = np.tile(np.concatenate([x0 + 0.1, np.full(2 * d, 0.05)]),
                                (MC_STEPS // 2, 1))
            # The noisy regression crosses |x_i| = 1.2 in some runs only: mixed divergences.
            bound = 1.2 if pname == "linreg2d-noisy" else 1e150
            options = dict(delta=0.3, burn_in=5, record_every=4, track_grad_norm=True,
                           divergence_bound=bound)
            if not isinstance(opt, AdamDecreasing):
                options["reference"] = reference
            for workers in (1, 2):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DivergenceWarning)
                    mc = monte_carlo(problem, opt, x0, MC_STEPS, MC_RUNS, 5, workers=workers,
                                     **options)
                for field in ("sup_distance", "final_state", "mean_grad_norm",
                              "fraction_outside", "divergence_step", "record"):
                    value = getattr(mc, field)
                    if value is not None:
                        out[f"{key}|mc|workers={workers}|{field}"] = value
                if "reference" in options:
                    # The same runs against the x columns of the reference only.
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DivergenceWarning)
                        mc = monte_carlo(problem, opt, x0, MC_STEPS, MC_RUNS, 5,
                                         workers=workers, **{**options,
                                                             "reference": reference[:, :d]})
                    out[f"{key}|mc-xref|workers={workers}|sup_distance"] = mc.sup_distance
    np.savez_compressed(HERE / "golden.npz", **out)
    print(f"{len(out)} arrays written to {HERE / 'golden.npz'}")


if __name__ == "__main__":
    main()
