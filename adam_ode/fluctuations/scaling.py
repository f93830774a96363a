r"""Scaling rules: hyperparameters that keep the limit and the fluctuation level when B → κB.

Derived from the limit and the LNA (paper_notes.md, "Fluctuations"). With a batch of B
independent gradients, Cov(g) = C₁/B and, at a minimizer, S(x*) = C₁(x*)/B.

- **SGD, linear rule** (γ → κγ, B → κB, n → n/κ, same t = nγ): the gradient flow does not
  depend on γ and the LNA covariance γP, with P ∝ C (Ṗ = −HP − PH + C), depends on γ/B only.
- **Adam / RMSProp, square-root rule** (Malladi et al. 2022): γ → √κγ, 1 − α → κ(1 − α),
  1 − β → κ(1 − β), ε → ε/√κ, n → n/κ (the same number of samples). In the model's variables:
  a → √κa, b → √κb and the limit time t' = n'γ' = t/√κ. If S is dominated by the noise (as at
  x*, exactly), v' = v/κ and the Adam ODE in t' with (√κa, √κb, ε/√κ) is the ODE in t with
  (a, b, ε); the stationary LNA variance γC/(2hD) (closed form, separable case) is unchanged:
  √κγ·(C/κ)/(2h·D/√κ) = γC/(2hD). Away from x*, the ∇F² part of S breaks the invariance at
  order ∇F²/(C/B) (the rule is approximate in the transient).
- **Momentum SGD, linear rule**: γ → κγ, 1 − α → κ(1 − α), i.e. a unchanged.
- **Nesterov, linear rule in its time step** Δt = sqrt(γ): γ → κ²γ (Δt → κΔt), c unchanged,
  n → n/κ. The limit Ẍ + cẊ + ∇F = 0 (or 3/t friction) does not depend on γ and the LNA
  covariance Δt·P, with P ∝ C (Q_VV = C), depends on Δt/B only: at the rest point of a
  quadratic Var x = sqrt(γ)σ²/(2ch).
- **AdamW, square-root rule** with the decoupled decay λ → √κλ: the x-field −m̂/D − λx must scale
  like d/dt' = √κ d/dt, as −m̂/D does (D' = D/√κ); the per-step decay γλ becomes κγλ. Exact
  only where AdamW's rest point x_r is a minimizer of F (e.g. x* = 0): elsewhere ∇F(x_r) =
  −λx_r(ε + sqrt(S)) ≠ 0 and S(x_r) = ∇F² + C/B does not scale like 1/κ, so the rest point and
  its spread move (off by ~∇F(x_r)²/(C/B)).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import ParameterError, check_int, check_positive

__all__ = ["ScaledHyperparameters", "scale_hyperparameters", "RULES"]

RULES = ("sqrt", "linear")


@dataclass(frozen=True)
class ScaledHyperparameters:
    """The scaled record and batch size; run ``steps_factor``·n steps to reach the same point
    (t in the scaled record's own time is ``time_factor``·t)."""

    optimizer: object
    batch_size: int
    steps_factor: float
    time_factor: float
    rule: str


def scale_hyperparameters(optimizer, batch_size: int, factor: float,
                          rule: str = "sqrt") -> ScaledHyperparameters:
    """Hyperparameters for batch size ``factor``·``batch_size`` (see the module docstring).

    Parameters
    ----------
    optimizer : Optimizer
        A record with a rule (``optimizer.batch_scaling_rules``; each record's
        ``scaled_for_batch`` states it).
    batch_size : int ≥ 1
    factor : float > 0
        κ; κ·B must be an integer.
    rule : "sqrt" (Adam, AdamW, RMSProp) or "linear" (SGD, momentum SGD: γ → κγ; Nesterov:
        sqrt(γ) → κ sqrt(γ); for Adam, AdamW and RMSProp: γ → κγ with the rest fixed, which
        keeps the limit but not the fluctuations, for comparison)
    """
    B = check_int("batch_size", batch_size, 1)
    kappa = check_positive("factor", factor)
    new_B = kappa * B
    if abs(new_B - round(new_B)) > 1e-9:
        raise ParameterError(f"factor * batch_size must be an integer, got {new_B:g}")
    if rule not in RULES:
        raise ParameterError(f"rule must be one of {RULES}, got {rule!r}")
    new, time_factor = optimizer.scaled_for_batch(kappa, rule)
    return ScaledHyperparameters(new, int(round(new_B)), 1.0 / kappa, time_factor, rule)
