"""torchsde's Euler on the Adam SDE, for the speed comparison of :mod:`.bench` (optional).

Runs only where torch and torchsde are importable (a separate environment: the project does not
depend on torch). Model: the autonomous Adam SDE on the 2-D quadratic F = ½ Σ h_i x_i² with
Gaussian noise σ, state (x, m, v) of dimension 6, diagonal noise: m gets aσ dW, v gets
b·sqrt(Var g²) dW (the (m, v) correlation is dropped: torchsde's "diagonal" noise type).

Usage: python torchsde_compare.py [n_paths] [n_steps] [threads]  → prints ns per path·step.
"""

import sys
import time


def main(n_paths=4000, n_steps=1000, threads=1):
    import torch
    import torchsde

    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    gamma, a, b, eps = 0.01, 2.0, 1.0, 0.1
    h = torch.tensor([1.0, 0.5])
    sigma = 1.0

    class AdamSDE(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def f(self, t, z):
            x, m, v = z[:, :2], z[:, 2:4], z[:, 4:]
            mu = h * x
            s = mu**2 + sigma**2
            return torch.cat([-m / (eps + v.clamp(min=0).sqrt()), a * (mu - m), b * (s - v)], 1)

        def g(self, t, z):
            x = z[:, :2]
            mu = h * x
            var_g2 = 2 * sigma**4 + 4 * mu**2 * sigma**2
            root = gamma ** 0.5
            return torch.cat([torch.zeros_like(x), root * a * sigma * torch.ones_like(x),
                              root * b * var_g2.sqrt()], 1)

    z0 = torch.zeros(n_paths, 6)
    z0[:, 0], z0[:, 1] = 1.0, -0.5
    ts = torch.tensor([0.0, n_steps * gamma])
    sde = AdamSDE()
    with torch.no_grad():
        torchsde.sdeint(sde, z0[:10], torch.tensor([0.0, 10 * gamma]), method="euler", dt=gamma)
        start = time.perf_counter()
        torchsde.sdeint(sde, z0, ts, method="euler", dt=gamma)
        elapsed = time.perf_counter() - start
    return elapsed / (n_paths * n_steps) * 1e9


if __name__ == "__main__":
    args = [int(v) for v in sys.argv[1:]]
    print(f"{main(*args):.1f}")
