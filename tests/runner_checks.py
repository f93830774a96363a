"""What the runners' check tests share (tests/test_checks_runners_a.py and _b.py): the one line
of a refused dry run, the config's keys as ``--set`` names them, the shipped config's dry run,
estimates and the figures' labels."""

from adam_ode import experiments as ex
from adam_ode.cli import main
from adam_ode.experiments import run_experiment


def cli_error(capsys, name, *sets):
    """The one stderr line of a refused dry run of ``name`` with ``--set`` ``sets``."""
    args = ["run", name, "--dry-run"]
    for item in sets:
        args += ["--set", item]
    code = main(args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("adam-ode: error: "), err
    return lines[0]


def check_bad_value(capsys, tmp_path, monkeypatch, name, sets, fragments):
    """A bad value is refused in one line holding every fragment, before any output directory."""
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, name, *sets)
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert not any(tmp_path.iterdir())  # refused before any output directory


def leaf_keys(config: dict, prefix: str = "") -> set:
    """Dotted keys of a config as ``--set`` names them; a problem table counts as one key."""
    out = set()
    for key, value in config.items():
        if isinstance(value, dict) and key != "problem":
            out |= leaf_keys(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def uncovered_keys(bad, name) -> set:
    """The keys of ``name``'s shipped config that no case of ``bad`` gives a bad value (a key's
    own entries, problem.p or adam.gamma, count for it)."""
    covered = {key for n, key, _, _ in bad if n == name}
    keys = leaf_keys(ex.load_config(name)[0])
    return {k for k in keys if not any(c == k or c.startswith(f"{k}.") for c in covered)}


def check_shipped_config(name, tmp_path):
    """The shipped config passes its checks and has an estimate; the dry run writes nothing."""
    rec = run_experiment(name, out_dir=tmp_path / "out", dry_run=True)
    assert rec.result is None and rec.summary["estimate"]["run_steps"] > 0
    assert not (tmp_path / "out").exists()


def estimate(name, *sets):
    return ex.estimate(name, ex.resolve_config(name, list(sets)))


def labels(fig):
    return [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]


def lines(fig):
    return [len(ax.get_lines()) for ax in fig.axes]
