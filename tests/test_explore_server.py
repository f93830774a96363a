"""``adam-ode explore --no-browser`` serves on 127.0.0.1 and prints its URL (needs Panel)."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("panel")

from adam_ode.explore import free_port  # noqa: E402

START_S = 60.0  # importing Panel and starting the server (not a timing test)


def test_explore_prints_its_url_and_serves_the_page_on_loopback():
    port = free_port("127.0.0.1")
    proc = subprocess.Popen([sys.executable, "-m", "adam_ode", "explore", "--no-browser",
                             "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/explore"
        assert url in line, line
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    assert page.status == 200 and "adam-ode explore" in page.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "Traceback" not in err, err


def test_a_taken_port_is_one_line_naming_the_option(capsys):
    import socket

    from adam_ode.cli import main

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["explore", "--no-browser", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}" in err and "--port" in err
    assert len(err.strip().splitlines()) == 1, err
