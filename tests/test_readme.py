"""The README's Python example runs as printed (it is the first thing a new user tries)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    match = re.search(r"## Python API\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, "README has no Python API example"
    exec(compile(match.group(1), str(README), "exec"), {})  # its asserts must hold
    printed = float(capsys.readouterr().out.strip())
    assert 0.0 <= printed <= 1.0  # P(sup > 0.3): a probability
