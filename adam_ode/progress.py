"""A tiny dependency-free progress bar on stderr.

It stays silent for short tasks (nothing is drawn before :data:`SHOW_AFTER` seconds), redraws at
most every :data:`REFRESH_INTERVAL` seconds, is thread-safe (workers may call ``update``), and is
disabled entirely with ``quiet=True``. Use it as a context manager, or call it as a callback::

    with Progress(total=36, desc="phase diagram") as bar:
        for job in jobs:
            run(job)
            bar.update()          # or bar(1), e.g. passed as callback=bar

On a terminal the bar redraws in place; otherwise (logs, CI) it prints an occasional plain line.
"""

from __future__ import annotations

import sys
import threading
import time

from ._validation import ParameterError

__all__ = ["Progress", "SHOW_AFTER", "REFRESH_INTERVAL"]

SHOW_AFTER = 1.0  # seconds: runs shorter than this never draw anything
REFRESH_INTERVAL = 0.1  # seconds between redraws on a terminal
LOG_INTERVAL = 10.0  # seconds between plain lines when stderr is not a terminal
BAR_WIDTH = 30  # characters of the bar itself


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
    """

    def __init__(self, total: int, desc: str = "", quiet: bool = False, stream=None,
                 show_after: float = SHOW_AFTER):
        if total < 0:
            raise ParameterError(f"total must be >= 0, got {total}")
        self.total = int(total)
        self.desc = desc
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.show_after = show_after
        self.n = 0
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._shown = False
        self._closed = False
        self._lock = threading.Lock()
        try:
            self._tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self._tty = False

    def update(self, n: int = 1) -> None:
        """Record ``n`` more finished units and redraw if due."""
        with self._lock:
            self.n += n
            if self.quiet or self._closed:
                return
            now = time.perf_counter()
            if now - self._start < self.show_after:
                return
            interval = REFRESH_INTERVAL if self._tty else LOG_INTERVAL
            if now - self._last_draw >= interval or (self._tty and self.n >= self.total):
                self._draw(now)

    __call__ = update

    def close(self) -> None:
        """Finish the line (only if something was drawn)."""
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

    def _render(self, now: float) -> str:
        elapsed = now - self._start
        frac = min(self.n / self.total, 1.0) if self.total else 1.0
        filled = int(round(BAR_WIDTH * frac))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        text = f"{self.desc + ': ' if self.desc else ''}[{bar}] {self.n}/{self.total} " \
               f"{100 * frac:3.0f}% {_format_seconds(elapsed)}"
        if 0 < self.n < self.total:
            text += f" (eta {_format_seconds(elapsed * (self.total - self.n) / self.n)})"
        return text

    def _draw(self, now: float, final: bool = False) -> None:
        text = self._render(now)
        if self._tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._shown = True
        self._last_draw = now
