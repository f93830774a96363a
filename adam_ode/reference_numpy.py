r"""Plain-NumPy implementations of the iterates, written from the algorithms' text.

These loops are the independent check of the numba kernels in :mod:`adam_ode.iterates` (tests) and
the baseline of :mod:`adam_ode.bench`. They use the problems' own NumPy sampler
``problem.sample_grad(x, rng)``, which draws in the same order as the kernels' sampler, and compute
the bias corrections literally as 1 − αⁿ (the kernels use running products), so a kernel and its
reference fed the same seed agree to rounding.

Symbols: ``gamma`` γ, ``a`` and ``b`` the moment rates (α = 1 − aγ, β = 1 − bγ), ``eps`` ε
(outside the square root), ``gamma0`` and ``kappa`` the decreasing steps γ_n = γ0 n^{−κ}.
Every function returns the path z_0 … z_n as an array (n_steps+1, 3d) packed (x, m, v), except
:func:`sgd` which returns x_0 … x_n.
"""

from __future__ import annotations

import numpy as np

from .state import initial_state, pack

__all__ = ["adam", "adam_decreasing", "sgd", "momentum_sgd", "rmsprop", "gradient_flow_euler",
           "adam_sup_distance"]


def _gradient(problem, x, rng, noise):
    return problem.sample_grad(x, rng) if noise else problem.grad_F(x)


def adam(problem, x0, gamma, a, b, eps, n_steps, seed, debias=True, noise=True, alpha=None):
    """Algorithm 2.1. ``alpha`` overrides α = 1 − aγ (e.g. α = 0, Adam without momentum)."""
    rng = np.random.default_rng(seed)
    alpha = 1.0 - a * gamma if alpha is None else alpha
    beta = 1.0 - b * gamma
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    path = [initial_state(x)]
    for n in range(1, n_steps + 1):
        g = _gradient(problem, x, rng, noise)
        m = alpha * m + (1.0 - alpha) * g
        v = beta * v + (1.0 - beta) * g**2
        if debias:
            m_hat = m / (1.0 - alpha**n)
            v_hat = v / (1.0 - beta**n)
        else:
            m_hat, v_hat = m, v
        x = x - gamma * m_hat / (eps + np.sqrt(v_hat))
        path.append(pack(x, m, v))
    return np.array(path)


def adam_decreasing(problem, x0, gamma0, kappa, a, b, eps, n_steps, seed, noise=True):
    """Algorithm 5.1 with γ_n = γ0 n^{−κ}; α_n, β_n clipped at 0 while aγ_n, bγ_n ≥ 1."""
    rng = np.random.default_rng(seed)
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    r = r_bar = 0.0
    path = [initial_state(x)]
    for n in range(1, n_steps + 1):
        gamma_n = gamma0 * n ** (-kappa)
        alpha_n = max(0.0, 1.0 - a * gamma_n)
        beta_n = max(0.0, 1.0 - b * gamma_n)
        g = _gradient(problem, x, rng, noise)
        m = alpha_n * m + (1.0 - alpha_n) * g
        v = beta_n * v + (1.0 - beta_n) * g**2
        r = alpha_n * r + (1.0 - alpha_n)
        r_bar = beta_n * r_bar + (1.0 - beta_n)
        x = x - gamma_n * (m / r) / (eps + np.sqrt(v / r_bar))
        path.append(pack(x, m, v))
    return np.array(path)


def sgd(problem, x0, gamma, n_steps, seed, noise=True):
    """x_n = x_{n−1} − γ g_n; returns x_0 … x_n, shape (n_steps+1, d)."""
    rng = np.random.default_rng(seed)
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(n_steps):
        x = x - gamma * _gradient(problem, x, rng, noise)
        path.append(x)
    return np.array(path)


def gradient_flow_euler(problem, x0, gamma, n_steps):
    """Explicit Euler on ẋ = −∇F(x): x_n = x_{n−1} − γ ∇F(x_{n−1}); shape (n_steps+1, d)."""
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(n_steps):
        x = x - gamma * problem.grad_F(x)
        path.append(x)
    return np.array(path)


def momentum_sgd(problem, x0, gamma, a, n_steps, seed, noise=True):
    """Heavy ball m_n = α m_{n−1} + (1−α) g_n, x_n = x_{n−1} − γ m_n, α = 1 − aγ; v = 0."""
    rng = np.random.default_rng(seed)
    alpha = 1.0 - a * gamma
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    path = [initial_state(x)]
    for _ in range(n_steps):
        g = _gradient(problem, x, rng, noise)
        m = alpha * m + (1.0 - alpha) * g
        x = x - gamma * m
        path.append(pack(x, m, np.zeros_like(x)))
    return np.array(path)


def rmsprop(problem, x0, gamma, b, eps, n_steps, seed, debias=True, noise=True):
    """x_n = x_{n−1} − γ g_n / (ε + sqrt(v̂_n)); the m slot holds g_n."""
    rng = np.random.default_rng(seed)
    beta = 1.0 - b * gamma
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    path = [initial_state(x)]
    for n in range(1, n_steps + 1):
        g = _gradient(problem, x, rng, noise)
        v = beta * v + (1.0 - beta) * g**2
        v_hat = v / (1.0 - beta**n) if debias else v
        x = x - gamma * g / (eps + np.sqrt(v_hat))
        path.append(pack(x, g, v))
    return np.array(path)


def adam_sup_distance(problem, x0, gamma, a, b, eps, reference, seed):
    """Adam (Algorithm 2.1) streamed against ``reference`` (N+1, 3d) on the grid kγ, in NumPy.

    Returns sup_{k ≤ N} ‖z_k − reference_k‖ without storing the path (the benchmark's baseline).
    """
    rng = np.random.default_rng(seed)
    alpha = 1.0 - a * gamma
    beta = 1.0 - b * gamma
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    sup = float(np.linalg.norm(initial_state(x) - reference[0]))
    for n in range(1, reference.shape[0]):
        g = problem.sample_grad(x, rng)
        m = alpha * m + (1.0 - alpha) * g
        v = beta * v + (1.0 - beta) * g**2
        x = x - gamma * (m / (1.0 - alpha**n)) / (eps + np.sqrt(v / (1.0 - beta**n)))
        sup = max(sup, float(np.linalg.norm(pack(x, m, v) - reference[n])))
    return sup
