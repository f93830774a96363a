r"""``adam-ode explore``: the optimizers and their continuous-time limits in the browser.

A local web app (Panel, on a Bokeh server): pick a 2-D problem and an optimizer of the
registries, move γ and the hyperparameters (widgets made from the record's own fields and
checked by its own validation), click on the contour plot to move x0, and see the iterates, their
mean, the continuous limit, the linear-noise 95 % ellipses along it, the Lyapunov energy and the
sup distance against γ; compare two optimizers on the same seed; save the view as an experiment
file (``adam-ode run FILE.toml`` reproduces it) or as a PNG.

Why Panel: its server is one long-lived Python process, so the numba kernels compiled for the
first view stay warm for every later one (a redraw is a Monte Carlo of milliseconds plus the
arrays sent to the browser), and its widgets and Bokeh figures are plain Python objects, so the
controls are built from the records' dataclass fields without per-optimizer code or JavaScript.

Layers: :mod:`.model` (choices, widgets as data, validation, the saved file; no web framework),
:mod:`.app` (Panel), the numbers from :func:`adam_ode.runners.explore.compute_view`. Panel is
the optional extra ``explore``: ``pip install "adam-ode[explore]"``.
"""

from __future__ import annotations

import importlib.util
import webbrowser

from .._validation import ParameterError

__all__ = ["serve", "require_panel", "free_port", "EXTRA", "DEFAULT_HOST", "DEFAULT_PORT"]

EXTRA = 'pip install "adam-ode[explore]"'
DEFAULT_HOST = "127.0.0.1"  # local only unless asked otherwise
DEFAULT_PORT = 5006  # Bokeh's usual port; --port 0 picks a free one


def require_panel() -> None:
    """Raise a one-line :class:`~adam_ode.ParameterError` naming the extra when Panel is absent."""
    if importlib.util.find_spec("panel") is None:
        raise ParameterError(f"adam-ode explore needs Panel (the extra 'explore'): {EXTRA}")


def serve(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, show: bool = True,
          threaded: bool = False, announce=print):
    """Serve the explorer on ``host:port``; open the browser when ``show``; print the URL.

    ``threaded=True`` returns the running server thread (``.stop()`` ends it; tests), otherwise
    this blocks until interrupted. ``port=0`` picks a free port. Returns the server (or thread)
    and its URL.
    """
    require_panel()
    import panel as pn

    from .app import create_app

    if port == 0:
        port = free_port(host)
    try:
        server = pn.serve({"explore": create_app}, port=port, address=host, show=False,
                          start=threaded, threaded=threaded,
                          websocket_origin=[f"{host}:{port}"], title="adam-ode explore",
                          verbose=False)
    except OSError as err:  # the port is taken, or the address is not this machine's
        raise ParameterError(f"cannot serve on {host}:{port} ({err.strerror or err}); choose "
                             "another --port (0: a free one) or --host") from None
    actual = port
    url = f"http://{host}:{actual}/explore"
    if announce is not None:
        announce(f"adam-ode explore: serving on {url} (Ctrl-C to stop)")
    if show:
        webbrowser.open(url)
    if not threaded:
        server.start()
        server.io_loop.start()
    return server, url


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port free on ``host`` now (the operating system's choice)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
