"""``adam-ode reproduce``: every registered experiment with its default config, one directory
each, the failures named at the end."""

from __future__ import annotations

import time
from pathlib import Path

from .. import interrupt
from .configs import list_experiments
from .registry import get_runner, registered_runners
from .configs import _check_workers
from .running import run_experiment

__all__ = ["ReproduceError", "reproduce", "DEFAULT_FIGURES_DIR"]

DEFAULT_FIGURES_DIR = Path("figures")  # `reproduce` writes to figures/<experiment>/


class ReproduceError(RuntimeError):
    """Some experiments of :func:`reproduce` failed (the others were still run and written)."""

    def __init__(self, failed: dict):
        self.failed = dict(failed)
        super().__init__(f"{len(failed)} experiment(s) failed: " + "; ".join(
            f"{name} ({reason})" for name, reason in failed.items()))


def reproduce(out_root=None, workers: int | None = None, quiet: bool = False, only=None,
              log=print, yes: bool = False, force: bool = False) -> list:
    """Run every registered experiment with its default config into ``out_root/<name>/``.

    Parameters
    ----------
    out_root : path, optional
        Default ``figures`` (relative to the current directory).
    workers, quiet, yes, force
        As in :func:`run_experiment`: a directory ``out_root/<name>/`` holding the same
        experiment's run with the same config (the committed figures) is replaced; anything
        else there needs ``force``.
    only : list of str, optional
        Restrict to these experiments (each must have a config and a runner).
    log : callable
        Receives one line per experiment (name, wall time) and the total.

    Returns
    -------
    list of RunRecord

    Raises
    ------
    ReproduceError
        After running all of them, when some experiments failed (named with their error).
    """
    workers = _check_workers(workers)
    from ..outputs import check_out_path

    out_root = check_out_path(out_root) if out_root is not None else DEFAULT_FIGURES_DIR
    runners = registered_runners()
    configs = list_experiments()
    if only:
        for name in only:
            get_runner(name)  # raises a clear error for unknown or runner-less names
        names = list(dict.fromkeys(only))
    else:
        names = [n for n in configs if n in runners]
        missing = [n for n in configs if n not in runners]
        if missing:
            log(f"skipping (no runner registered yet): {', '.join(missing)}")
    records = []
    t0 = time.perf_counter()
    width = max((len(n) for n in names), default=0)
    failed = {}
    for name in names:
        try:
            rec = run_experiment(name, out_dir=out_root / name, workers=workers, quiet=quiet,
                                 yes=yes, force=force)
        except interrupt.Interrupted:
            raise
        except Exception as err:  # one broken experiment must not cost the other figures
            failed[name] = f"{type(err).__name__}: {err}"
            log(f"{name:<{width}}  FAILED: {failed[name]}")
            continue
        records.append(rec)
        log(f"{name:<{width}}  {rec.wall_time:8.2f} s  -> {rec.out_dir}")
    plural = "" if len(records) == 1 else "s"
    log(f"{'total':<{width}}  {time.perf_counter() - t0:8.2f} s  "
        f"({len(records)} experiment{plural})")
    if failed:
        raise ReproduceError(failed)
    return records
