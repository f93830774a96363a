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


def test_every_readme_python_block_runs():
    # The family example, "Problems you bring", "Fluctuations": each block as printed.
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    for i, block in enumerate(blocks[1:], start=2):
        exec(compile(block, f"{README} (python block {i})", "exec"), {})
