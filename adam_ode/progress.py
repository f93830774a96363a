"""A tiny dependency-free progress bar on stderr, and the interrupt check of long runs.

It stays silent for short tasks (nothing is drawn before :data:`SHOW_AFTER` seconds), redraws at
most every :data:`REFRESH_INTERVAL` seconds on a terminal and, from a background thread, at least
every :data:`HEARTBEAT_INTERVAL` seconds even while no unit finishes (so a long chunk still shows
its elapsed time), is thread-safe (workers may call ``update``), and is disabled entirely with
``quiet=True``. The ETA is measured from the first finished unit on, so the seconds of numba
compilation that the first chunk pays do not inflate it. Use it as a context manager, or call it
as a callback::

    with Progress(total=36, desc="phase diagram") as bar:
        for job in jobs:
            run(job)
            bar.update()          # or bar(1), e.g. passed as callback=bar

Every ``update`` made from the main thread calls :func:`adam_ode.interrupt.check`, so Ctrl-C
stops a run at its next finished chunk (raising :class:`adam_ode.interrupt.Interrupted`).

On a terminal the bar redraws in place; otherwise (logs, CI) it prints an occasional plain line.

Why not ``tqdm``: it would add a dependency for what these ~150 lines do, and the two things this
bar needs beyond a bar (the interrupt check on the main thread, the ETA started after the first
chunk) would still be code of ours around it.
"""

from __future__ import annotations

import sys
import threading
import time

from . import interrupt
from ._validation import ParameterError

__all__ = ["Progress", "SHOW_AFTER", "REFRESH_INTERVAL", "HEARTBEAT_INTERVAL"]

SHOW_AFTER = 1.0  # seconds: runs shorter than this never draw anything
REFRESH_INTERVAL = 0.1  # seconds between redraws on a terminal
HEARTBEAT_INTERVAL = 1.0  # a terminal bar is redrawn at least this often, even without progress
LOG_INTERVAL = 10.0  # seconds between plain lines when stderr is not a terminal
# Shown until the first unit finishes: on a new machine that first chunk pays the compilation.
STARTING = "compiling kernels on first use, cached afterwards"
BAR_WIDTH = 30  # characters of the bar itself


def _format_count(n: int) -> str:
    """12, 12.3k, 4.56M, 2.67G: large counts (run·steps) stay readable."""
    if abs(n) < 10_000:
        return str(int(n))
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return str(int(n))  # pragma: no cover


def _format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


class Progress:
    """Progress of ``total`` units of work.

    Parameters
    ----------
    total : int
        Number of units (≥ 0).
    desc : str
        Label printed before the bar.
    quiet : bool
        Draw nothing at all.
    stream : file, optional
        Output stream (default: ``sys.stderr`` at construction time).
    show_after : float
        Seconds before the first draw (default :data:`SHOW_AFTER`).
    heartbeat : float or None
        Seconds between redraws without progress (default :data:`HEARTBEAT_INTERVAL` on a
        terminal, :data:`LOG_INTERVAL` otherwise; None: no background redraws).
    unit : str
        What is counted, shown after the counts (``"run·steps"``, ``"runs"``).
    """

    def __init__(self, total: int, desc: str = "", quiet: bool = False, stream=None,
                 show_after: float = SHOW_AFTER, heartbeat: float | None = -1.0,
                 unit: str = ""):
        if total < 0:
            raise ParameterError(f"progress total must be >= 0, got {total}")
        self.total = int(total)
        self.desc = desc
        self.unit = unit
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.show_after = show_after
        self.n = 0
        self._start = time.perf_counter()
        self._first = None  # (time, n) of the first update: the ETA's origin
        self._last_draw = -float("inf")
        self._shown = False
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        try:
            self._tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self._tty = False
        if heartbeat is not None and heartbeat < 0:
            heartbeat = HEARTBEAT_INTERVAL if self._tty else LOG_INTERVAL
        self._heartbeat = None
        if heartbeat is not None and not quiet:
            self._heartbeat = threading.Thread(target=self._beat, args=(heartbeat,),
                                               name="adam-ode-progress", daemon=True)
            self._heartbeat.start()

    def update(self, n: int = 1) -> None:
        """Record ``n`` more finished units and redraw if due; check for Ctrl-C (main thread)."""
        with self._lock:
            self.n += n
            now = time.perf_counter()
            if self._first is None:
                self._first = (now, self.n)
            if not (self.quiet or self._closed) and now - self._start >= self.show_after:
                interval = REFRESH_INTERVAL if self._tty else LOG_INTERVAL
                if now - self._last_draw >= interval or (self._tty and self.n >= self.total):
                    self._draw(now)
        if threading.current_thread() is threading.main_thread():
            interrupt.check()

    __call__ = update

    def close(self) -> None:
        """Finish the line (only if something was drawn)."""
        self._stop.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._shown and not self.quiet:
                self._draw(time.perf_counter(), final=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(min(interval, REFRESH_INTERVAL * 5)):
            with self._lock:
                now = time.perf_counter()
                if self._closed or now - self._start < self.show_after:
                    continue
                if now - self._last_draw >= interval:
                    self._draw(now)

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the rate measured since the first finished unit (None if unknown)."""
        now = time.perf_counter() if now is None else now
        if self._first is None or not 0 < self.n < self.total:
            return None
        t_first, n_first = self._first
        if self.n <= n_first or now <= t_first:
            return None
        return (now - t_first) * (self.total - self.n) / (self.n - n_first)

    def _render(self, now: float) -> str:
        elapsed = now - self._start
        frac = min(self.n / self.total, 1.0) if self.total else 1.0
        filled = int(round(BAR_WIDTH * frac))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        counts = f"{_format_count(self.n)}/{_format_count(self.total)}"
        if self.unit:
            counts += f" {self.unit}"
        text = f"{self.desc + ': ' if self.desc else ''}[{bar}] {counts} " \
               f"{100 * frac:3.0f}% {_format_seconds(elapsed)}"
        eta = self.eta(now)
        if eta is not None:
            text += f" (eta {_format_seconds(eta)})"
        elif self._first is None:
            text += f" ({STARTING})"
        return text

    def _draw(self, now: float, final: bool = False) -> None:
        text = self._render(now)
        try:
            if self._tty:
                self.stream.write("\r" + text + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (ValueError, OSError):  # stream closed under us (interpreter exit)
            return
        self._shown = True
        self._last_draw = now
