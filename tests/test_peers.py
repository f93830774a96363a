"""torch.optim's rules for Adam, RMSprop and momentum SGD, transcribed in NumPy from torch's
single-tensor code paths (``torch/optim/adam.py: _single_tensor_adam``, ``rmsprop.py:
_single_tensor_rmsprop``, ``sgd.py: _single_tensor_sgd``), against our iterates with exact
gradients: 1e-12 relative after 1 000 steps. (The other peers' transcriptions are in their
optimizers' test modules; ``tests/test_torch_oracle.py`` runs torch itself when installed.)
"""

import math

import numpy as np
import pytest

import adam_ode as ao
from adam_ode.iterates import run_optimizer


N_STEPS = 1000
RTOL = 1e-12
PROBLEMS = {
    "quadratic": (ao.StochasticQuadratic(h=[1.0, 4.0, 0.5], sigma=0.0), [2.0, -1.0, 1.0]),
    "double-well": (ao.DoubleWell(d=2, sigma=0.0), [0.3, -1.7]),
    "least-squares": (ao.LeastSquares.example(), [0.0, 0.0, 0.0]),
}


def torch_adam(problem, x0, lr, beta1, beta2, eps, n_steps):
    p = np.array(x0, dtype=float)
    exp_avg, exp_avg_sq = np.zeros_like(p), np.zeros_like(p)
    path = [p.copy()]
    for step in range(1, n_steps + 1):
        grad = problem.grad_F(p)
        exp_avg += (grad - exp_avg) * (1 - beta1)                  # lerp_(grad, 1 - beta1)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad  # mul_.addcmul_
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = np.sqrt(exp_avg_sq) / math.sqrt(bias_correction2) + eps
        p = p - step_size * (exp_avg / denom)                       # addcdiv_(value=-step_size)
        path.append(p.copy())
    return np.array(path)


def torch_rmsprop(problem, x0, lr, alpha, eps, n_steps):
    p = np.array(x0, dtype=float)
    square_avg = np.zeros_like(p)
    path = [p.copy()]
    for _ in range(n_steps):
        grad = problem.grad_F(p)
        square_avg = square_avg * alpha + (1 - alpha) * grad * grad
        avg = np.sqrt(square_avg) + eps
        p = p - lr * (grad / avg)
        path.append(p.copy())
    return np.array(path)


def torch_sgd_momentum(problem, x0, lr, momentum, n_steps):
    p = np.array(x0, dtype=float)
    buf = None
    path = [p.copy()]
    for _ in range(n_steps):
        grad = problem.grad_F(p)
        buf = grad.copy() if buf is None else buf * momentum + grad  # dampening = 0
        p = p - lr * buf
        path.append(p.copy())
    return np.array(path)


def _compare(problem, x0, record, theirs):
    ours = run_optimizer(problem, record, x0, N_STEPS, 0, noise=False)[:, :problem.dim]
    worst = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
    assert worst <= RTOL, f"{record.name}: max |ours - torch rule| / max|x| = {worst:.3g}"
    assert np.max(np.abs(theirs[-1] - theirs[0])) > 1e-3  # the iterates moved


@pytest.mark.parametrize("pname", sorted(PROBLEMS))
def test_adam_is_torch_adam(pname):
    problem, x0 = PROBLEMS[pname]
    record = ao.Adam(gamma=0.01, a=5.0, b=1.0, eps=1e-8)
    _compare(problem, x0, record,
             torch_adam(problem, x0, record.gamma, record.alpha, record.beta, record.eps,
                        N_STEPS))


@pytest.mark.parametrize("pname", sorted(PROBLEMS))
def test_rmsprop_without_bias_correction_is_torch_rmsprop(pname):
    problem, x0 = PROBLEMS[pname]
    # γ = 1e-3: near a minimum RMSProp's sign-like steps double any rounding difference per
    # step (see tests/test_torch_oracle.py), so the comparison stays short of that regime.
    record = ao.RMSProp(gamma=1e-3, b=2.0, eps=1e-8, debias=False)
    _compare(problem, x0, record,
             torch_rmsprop(problem, x0, record.gamma, record.beta, record.eps, N_STEPS))


@pytest.mark.parametrize("pname", sorted(PROBLEMS))
def test_momentum_sgd_is_torch_sgd_after_the_change_of_variables(pname):
    # m_n = (1 − α) buf_n: torch SGD(lr = γ(1 − α), momentum = α, dampening = 0), first step
    # included (buf_1 = g_1, m_1 = (1 − α) g_1).
    problem, x0 = PROBLEMS[pname]
    record = ao.MomentumSGD(gamma=0.05, a=4.0)
    _compare(problem, x0, record,
             torch_sgd_momentum(problem, x0, record.gamma * (1 - record.alpha), record.alpha,
                                N_STEPS))
