"""Ctrl-C and SIGTERM: a process-wide flag that long computations poll, and a bounded stop.

The numerical code never handles signals itself. It polls::

    from adam_ode import interrupt
    ...
    interrupt.check()      # raises Interrupted once Ctrl-C was pressed

between chunks of work (the progress bar does it on every update from the main thread). The
command line installs :func:`install_handler`: the first SIGINT calls :func:`request`; the
computation stops at its next :func:`check`, the CLI removes what was half-written, prints one
line and exits with status :data:`EXIT_INTERRUPTED` (128 + SIGINT). SIGTERM, what batch
schedulers and ``kill`` send, is handled the same way and exits with :data:`EXIT_TERMINATED`
(128 + SIGTERM). Work already running in a worker thread
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
           "remove_abort", "install_handler", "claim_exit", "exit_status", "GRACE_S",
           "EXIT_INTERRUPTED", "EXIT_TERMINATED", "HANDLED_SIGNALS"]

GRACE_S = 0.5  # seconds the computation gets to stop at a check() before the watchdog ends it
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's status for a process stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_flag = threading.Event()
_deferred_lock = threading.Condition()
_deferred_depth = 0
_abort_callbacks: list = []
_exit_claimed = threading.Lock()
_received: list = []  # the first handled signal (its number), for the exit status and the line


class Interrupted(Exception):
    """Raised by :func:`check` after Ctrl-C (:func:`request`)."""

    def __init__(self, message: str = "interrupted"):
        super().__init__(message)


def request(signum: int = signal.SIGINT) -> None:
    """Ask every polling computation to stop (what the SIGINT and SIGTERM handlers do)."""
    if not _received:
        _received.append(int(signum))
    _flag.set()


def exit_status() -> int:
    """128 + the first signal received (130 for Ctrl-C, the default; 143 for SIGTERM)."""
    return 128 + (_received[0] if _received else signal.SIGINT)


def requested() -> bool:
    """True once :func:`request` was called (until :func:`reset`)."""
    return _flag.is_set()


def reset() -> None:
    """Clear the flag (tests; a long-lived process that handled an interrupt)."""
    _flag.clear()
    _received.clear()


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
    """The one line printed for an interrupt: ``interrupted: nothing written to DIR``
    (``terminated (SIGTERM): …`` after SIGTERM)."""
    what = "terminated (SIGTERM)" if exit_status() == EXIT_TERMINATED else "interrupted"
    return f"{what}: " + ("; ".join(messages) if messages else "nothing written")


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
    os._exit(exit_status())


def install_handler(prog: str = "adam-ode", grace: float = GRACE_S, stream=None) -> None:
    """Install the SIGINT and SIGTERM handling of the command line (once, from the main thread).

    First signal: :func:`request`, and the watchdog ends the process ``grace`` seconds later if
    it is still running. Second signal: the watchdog ends it at once. Either way the abort callbacks
    run first and one line ``<prog>: interrupted: …`` is printed on ``stream`` (stderr).
    """
    stream = sys.stderr if stream is None else stream
    receive, send = socket.socketpair()
    send.setblocking(False)
    receive.setblocking(True)

    def python_handler(signum, frame):  # runs in the main thread, between bytecodes
        request(signum)

    for signum in HANDLED_SIGNALS:
        signal.signal(signum, python_handler)
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
            handled = [byte for byte in data if byte in HANDLED_SIGNALS]
            count += len(handled)
            if count == 0:
                continue
            if handled:
                request(handled[0])
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
