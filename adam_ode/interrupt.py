"""Ctrl-C: a process-wide flag that long computations poll, and a bounded stop for the CLI.

The numerical code never handles signals itself. It polls::

    from adam_ode import interrupt
    ...
    interrupt.check()      # raises Interrupted once Ctrl-C was pressed

between chunks of work (the progress bar does it on every update from the main thread). The
command line installs :func:`install_handler`: the first SIGINT calls :func:`request`; the
computation stops at its next :func:`check`, the CLI removes what was half-written, prints one
line and exits with status :data:`EXIT_INTERRUPTED`. Work already running in a worker thread
cannot be cancelled from Python, so a watchdog thread bounds the wait: if the process has not
exited :data:`GRACE_S` seconds after the signal, it runs the registered abort callbacks (which
remove the output of the unfinished run, see :func:`on_abort`), prints the same line and ends the
process. A second Ctrl-C does that at once. Code inside ``with deferred():`` (writing the result
files, well under a second) is never cut short: the watchdog waits for it.

The watchdog learns of the signal through :func:`signal.set_wakeup_fd`, which the interpreter
writes to from its C-level handler, so it reacts even while the main thread sits inside a long
compiled call that the Python-level handler has to wait for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading

__all__ = ["Interrupted", "request", "requested", "reset", "check", "deferred", "on_abort",
           "remove_abort", "install_handler", "claim_exit", "GRACE_S", "EXIT_INTERRUPTED"]

GRACE_S = 0.5  # seconds the computation gets to stop at a check() before the watchdog ends it
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's status for a process stopped by Ctrl-C

_flag = threading.Event()
_deferred_lock = threading.Condition()
_deferred_depth = 0
_abort_callbacks: list = []
_exit_claimed = threading.Lock()


class Interrupted(Exception):
    """Raised by :func:`check` after Ctrl-C (:func:`request`)."""

    def __init__(self, message: str = "interrupted"):
        super().__init__(message)


def request() -> None:
    """Ask every polling computation to stop (what the SIGINT handler does)."""
    _flag.set()


def requested() -> bool:
    """True once :func:`request` was called (until :func:`reset`)."""
    return _flag.is_set()


def reset() -> None:
    """Clear the flag (tests; a long-lived process that handled an interrupt)."""
    _flag.clear()


def check() -> None:
    """Raise :class:`Interrupted` if an interrupt was requested; cheap enough for tight loops."""
    if _flag.is_set():
        raise Interrupted()


@contextlib.contextmanager
def deferred():
    """A section that an interrupt never cuts short (the watchdog waits until it ends)."""
    global _deferred_depth
    with _deferred_lock:
        _deferred_depth += 1
    try:
        yield
    finally:
        with _deferred_lock:
            _deferred_depth -= 1
            _deferred_lock.notify_all()


def on_abort(callback) -> None:
    """Register ``callback() -> str | None``: run by the watchdog before it ends the process.

    It undoes what an unfinished computation did (e.g. removes a new output directory) and
    returns the line to print (``"nothing written to DIR"``), or None.
    """
    _abort_callbacks.append(callback)


def remove_abort(callback) -> None:
    """Unregister a callback of :func:`on_abort` (the computation finished or cleaned up)."""
    with contextlib.suppress(ValueError):
        _abort_callbacks.remove(callback)


def claim_exit() -> bool:
    """True for the first caller only: whoever reports the interrupt (CLI or watchdog)."""
    return _exit_claimed.acquire(blocking=False)


def run_abort_callbacks() -> list:
    """Run the registered abort callbacks (newest first); their non-empty messages."""
    messages = []
    for callback in reversed(list(_abort_callbacks)):
        try:
            text = callback()
        except Exception as err:  # cleaning up must not hide the interrupt
            text = f"cleanup failed: {err}"
        if text:
            messages.append(text)
    return messages


def interrupted_line(messages) -> str:
    """The one line printed for an interrupt: ``interrupted: nothing written to DIR``."""
    return "interrupted: " + ("; ".join(messages) if messages else "nothing written")


def _hard_stop(prog: str, stream) -> None:
    """Wait for deferred sections, clean up, print the line (unless already printed), exit."""
    with _deferred_lock:
        while _deferred_depth > 0:
            _deferred_lock.wait(0.05)
    messages = run_abort_callbacks()
    if claim_exit():
        with contextlib.suppress(Exception):
            stream.write(f"{prog}: {interrupted_line(messages)}\n")
            stream.flush()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    os._exit(EXIT_INTERRUPTED)


def install_handler(prog: str = "adam-ode", grace: float = GRACE_S, stream=None) -> None:
    """Install the SIGINT handling of the command line (call once, from the main thread).

    First Ctrl-C: :func:`request`, and the watchdog ends the process ``grace`` seconds later if it
    is still running. Second Ctrl-C: the watchdog ends it at once. Either way the abort callbacks
    run first and one line ``<prog>: interrupted: …`` is printed on ``stream`` (stderr).
    """
    stream = sys.stderr if stream is None else stream
    receive, send = socket.socketpair()
    send.setblocking(False)
    receive.setblocking(True)

    def python_handler(signum, frame):  # runs in the main thread, between bytecodes
        request()

    signal.signal(signal.SIGINT, python_handler)
    signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)

    def watchdog():
        count = 0
        timer = None
        while True:
            try:
                data = receive.recv(64)
            except OSError:
                return
            if not data:
                return
            count += sum(1 for byte in data if byte == signal.SIGINT)
            if count == 0:
                continue
            request()
            if count >= 2:
                _hard_stop(prog, stream)
            if timer is None:
                timer = threading.Timer(grace, _hard_stop, args=(prog, stream))
                timer.daemon = True
                timer.start()

    thread = threading.Thread(target=watchdog, name="adam-ode-interrupt", daemon=True)
    thread.start()
    # Keep the socket pair alive as long as the process.
    install_handler._sockets = (receive, send)  # type: ignore[attr-defined]
