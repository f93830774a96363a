"""Command-line interface ``adam-ode`` (also ``python -m adam_ode``).

Subcommands::

    adam-ode list                                  experiments and one-line descriptions
    adam-ode run EXPERIMENT|FILE.toml [--set key=value ...] [--out DIR] [--seed N]
                 [--workers N] [--yes] [--quiet]
    adam-ode init NAME [--from EXPERIMENT] [--force]   write NAME.toml, a commented copy
    adam-ode sweep EXPERIMENT|FILE.toml --grid key=[v1, v2, ...] ... --out DIR
                 [--set ...] [--scheduler ADDRESS] [--workers N] [--metric KEY] [--yes]
    adam-ode reproduce [--out DIR] [--workers N] [--quiet] [--only NAME ...]
    adam-ode lyapunov [--set key=value ...] [...]  the lyapunov experiment; prints its table
    adam-ode bench [args ...]                      benchmark (adam_ode.bench)
    adam-ode --version

Configuration, validation and output-directory errors print one line on stderr and exit with
status 2 (set ``ADAM_ODE_DEBUG=1`` to see the traceback instead); any other exception is a bug
and surfaces with its traceback. Ctrl-C stops a run within a second, removes what it had begun
to write, prints one line and exits with status 130. Warnings raised during a run are printed
once each, on one line, and recorded in its ``summary.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

from . import experiments as ex
from . import interrupt
from ._validation import ParameterError

__all__ = ["main", "console_main", "build_parser"]

EXIT_OK = 0
EXIT_FAILURE = 1  # some experiments of `reproduce` or points of `sweep` failed
EXIT_USAGE = 2  # argparse's status for usage errors; also used for config/validation errors
EXIT_INTERRUPTED = interrupt.EXIT_INTERRUPTED  # 130
ENV_DEBUG = "ADAM_ODE_DEBUG"  # set to 1 to get the traceback of a ValueError instead of one line
PROG = "adam-ode"
DEFAULT_INIT_FROM = "weak-convergence"  # what `adam-ode init NAME` copies without --from
MAX_MESSAGE = 400  # characters of a one-line message; longer ones are cut in the middle
_NUMPY_SCALAR = re.compile(r"np\.(?:float|int|uint|bool_|complex)\w*\((.*?)\)")


def _version() -> str:
    from . import __version__

    return __version__


def _int_at_least(minimum: int):
    """argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") \
                from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_nonnegative_int = _int_at_least(0)


def _add_run_options(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, parsed as TOML (repeatable), e.g. "
                        "--set gammas=[0.1,0.01] --set 'problem={name=\"double-well\", d=2}'")
    p.add_argument("--out", metavar="DIR", help=out_help)
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (overrides the config's seed)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="worker threads (default: all cores; results do not depend on it)")
    p.add_argument("--yes", action="store_true",
                   help="run even if the cost estimate is above the time limit")
    p.add_argument("--force", action="store_true",
                   help="replace the results the output directory already holds")
    p.add_argument("--dry-run", action="store_true",
                   help="check the config and the output directory, print the cost estimate, "
                        "run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bars or info lines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Continuous-time dynamics of Adam: experiments and figures.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_list = sub.add_parser("list", help="list the experiments (or the registered optimizers "
                                         "or problems, plug-ins included)")
    p_list.add_argument("what", nargs="?", default="experiments",
                        choices=("experiments", "optimizers", "problems"),
                        help="what to list (default: experiments)")

    p_run = sub.add_parser("run", help="run one experiment, or a config file of your own")
    p_run.add_argument("experiment", metavar="EXPERIMENT|FILE.toml",
                       help="experiment name (see `adam-ode list`) or the path of a TOML file "
                            "(see `adam-ode init`)")
    _add_run_options(p_run, "output directory (default runs/<name>/<timestamp>)")

    p_init = sub.add_parser("init", help="write NAME.toml, a commented config to start from")
    p_init.add_argument("name", metavar="NAME", help="the file to write: NAME.toml")
    p_init.add_argument("--from", dest="source", metavar="EXPERIMENT", default=DEFAULT_INIT_FROM,
                        help=f"the experiment to copy (default {DEFAULT_INIT_FROM})")
    p_init.add_argument("--force", action="store_true", help="overwrite an existing file")

    p_sweep = sub.add_parser("sweep", help="run an experiment over a grid of parameter values")
    p_sweep.add_argument("experiment", metavar="EXPERIMENT|FILE.toml")
    p_sweep.add_argument("--grid", action="append", default=[], metavar="KEY=[V1, V2, ...]",
                         required=True,
                         help="values of one key (a TOML list; repeatable: the grid is the "
                              "Cartesian product)")
    p_sweep.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE", help="override a config value at every point")
    p_sweep.add_argument("--seed", type=_nonnegative_int, help="root seed of the sweep")
    p_sweep.add_argument("--out", metavar="DIR", required=True,
                         help="sweep directory: DIR/<point>/, DIR/sweep.csv, DIR/sweep.png")
    p_sweep.add_argument("--scheduler", metavar="ADDRESS",
                         help="a running Dask scheduler (tcp://host:8786); default: local "
                              "processes")
    p_sweep.add_argument("--workers", type=_positive_int, default=None,
                         help="local processes (default: all cores; ignored with --scheduler)")
    p_sweep.add_argument("--metric", metavar="KEY",
                         help="key number drawn over the grid (a column of sweep.csv)")
    p_sweep.add_argument("--yes", action="store_true",
                         help="run even if a point's cost estimate is above the time limit")
    p_sweep.add_argument("--force", action="store_true",
                         help="replace another sweep's table (or a run) in the directory")
    p_sweep.add_argument("--dry-run", action="store_true",
                         help="check every point and the directory, run nothing")
    p_sweep.add_argument("--quiet", action="store_true", help="no progress lines")

    p_rep = sub.add_parser("reproduce", help="run every experiment with its default config "
                                             "into figures/<name>/")
    p_rep.add_argument("--out", metavar="DIR", help="root output directory (default figures)")
    p_rep.add_argument("--workers", type=_positive_int, default=None,
                       help="worker threads (default: all cores; results do not depend on it)")
    p_rep.add_argument("--quiet", action="store_true", help="no progress bars")
    p_rep.add_argument("--only", nargs="+", metavar="NAME", help="only these experiments")
    p_rep.add_argument("--force", action="store_true",
                       help="replace directories that hold other results than the same "
                            "experiment's default run")

    p_plot = sub.add_parser("plot", help="redraw the figure of a finished run (or sweep) "
                                         "from its files")
    p_plot.add_argument("directory", metavar="DIR", help="a run directory (summary.json, "
                                                         "data.npz) or a sweep directory")
    p_plot.add_argument("--metric", metavar="KEY", help="sweep only: the column to draw")
    p_plot.add_argument("--out", metavar="FILE", help="where to write the figure (default: "
                                                      "DIR/figure.png, or DIR/sweep.png)")

    p_cache = sub.add_parser("cache", help="where the compiled kernels are cached; --clear "
                                           "removes them")
    p_cache.add_argument("--clear", action="store_true", help="delete the compiled kernels "
                                                              "(they compile again on first use)")

    p_lya = sub.add_parser("lyapunov", help="Lyapunov energy verification table and figure")
    _add_run_options(p_lya, "output directory (default runs/lyapunov/<timestamp>)")

    sub.add_parser("bench", help="benchmark (arguments are passed to adam_ode.bench)",
                   add_help=False)

    p_explore = sub.add_parser("explore", help="the optimizers and their limits in the browser "
                                               '(needs pip install "adam-ode[explore]")')
    p_explore.add_argument("--port", type=_nonnegative_int, default=5006,
                           help="port to serve on (default 5006; 0: a free one)")
    p_explore.add_argument("--host", default="127.0.0.1",
                           help="address to serve on (default 127.0.0.1: this machine only)")
    p_explore.add_argument("--no-browser", action="store_true",
                           help="print the URL without opening a browser")
    return parser


def one_line(text) -> str:
    """A message as one readable line: NumPy scalar reprs unwrapped, long values shortened."""
    text = _NUMPY_SCALAR.sub(r"\1", str(text))
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE:
        cut = len(text) - MAX_MESSAGE + 40
        head = MAX_MESSAGE * 2 // 3
        text = f"{text[:head]} … [{cut} characters] … {text[head + cut:]}"
    return text


def _error(text) -> None:
    print(f"{PROG}: error: {one_line(text)}", file=sys.stderr)


def _warn(text) -> None:
    print(f"{PROG}: warning: {one_line(text)}", file=sys.stderr)


def _info(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _first_line(doc) -> str:
    text = (doc or "").strip().splitlines()
    return text[0].strip() if text else ""


def _cmd_list_registry(what: str) -> int:
    from .optimizers import OPTIMIZERS
    from .problems import PROBLEMS

    registry = OPTIMIZERS if what == "optimizers" else PROBLEMS
    width = max((len(n) for n in registry), default=0)
    for name in sorted(registry):
        cls = registry[name]
        origin = "" if cls.__module__.startswith("adam_ode.") else f"  [plug-in: {cls.__module__}]"
        print(f"{name:<{width}}  {cls.__name__}: {_first_line(cls.__doc__)}{origin}")
    return EXIT_OK


def _cmd_list(args) -> int:
    if args.what != "experiments":
        return _cmd_list_registry(args.what)
    experiments = ex.list_experiments()
    runners = ex.registered_runners()
    width = max(len(n) for n in experiments) if experiments else 0
    for name, description in experiments.items():
        mark = "" if name in runners else "  [no runner yet]"
        print(f"{name:<{width}}  {description}{mark}")
    return EXIT_OK


def _cmd_run(args, name: str) -> int:
    if args.dry_run:
        record = ex.run_experiment(name, overrides=args.overrides, out_dir=args.out,
                                   seed=args.seed, workers=args.workers, quiet=True,
                                   force=args.force, dry_run=True)
        print(_estimate_line(record))
        return EXIT_OK
    with warnings.catch_warnings(record=True):  # re-emitted once by run_experiment: printed below
        record = ex.run_experiment(name, overrides=args.overrides, out_dir=args.out,
                                   seed=args.seed, workers=args.workers, quiet=args.quiet,
                                   yes=args.yes, force=args.force)
    if record.result.table:
        print(record.result.table)
    for text in record.summary.get("warnings", []):
        _warn(text)
    files = ", ".join(p.name for p in record.files)
    _info(args, f"{record.name}: {record.wall_time:.2f} s; wrote {files} to {record.out_dir}")
    if interrupt.requested():  # Ctrl-C while the files were being written: they are complete
        raise interrupt.Interrupted(f"results complete in {record.out_dir}")
    return EXIT_OK


def _estimate_line(record) -> str:
    """One line for ``--dry-run``: the config is valid, the estimate, where it would write."""
    from .cost import describe_estimate

    estimate = record.summary.get("estimate")
    what = describe_estimate(estimate) if estimate else "no cost estimate for this experiment"
    return f"{record.name}: config valid; {what}; would write to {record.out_dir}"


def init_config(name: str, source: str = DEFAULT_INIT_FROM, force: bool = False,
                directory=".") -> Path:
    """Write ``NAME.toml``: the commented config of ``source`` with its ``experiment`` key."""
    stem = name[:-len(".toml")] if name.endswith(".toml") else name
    if not stem or stem in (".", ".."):
        raise ex.ExperimentError(f"init: {name!r} is not a file name")
    path = Path(directory) / f"{stem}.toml"
    text = ex.config_text(source)
    if path.exists() and not force:
        raise ex.ExperimentError(f"{path} exists; choose another name or pass --force")
    header = (f"# Your own experiment, started from the shipped {source!r} config.\n"
              f"# Run it with:  adam-ode run {path}   (outputs in runs/{stem}/<timestamp>/)\n"
              "# Every parameter below is required; change values, keep the keys and types.\n"
              "# --set key=value still overrides any of them on the command line.\n"
              f'{ex.EXPERIMENT_KEY} = "{source}"  # the experiment (runner) this file configures\n'
              "\n")
    from .io import atomic_write

    try:
        with atomic_write(path) as f:
            f.write((header + text).encode("utf-8"))
    except OSError as err:
        raise ex.ExperimentError(f"cannot write {path} ({err.strerror})") from None
    return path


def _cmd_init(args) -> int:
    path = init_config(args.name, args.source, args.force)
    print(f"wrote {path} (from {args.source}); run it with: {PROG} run {path}")
    return EXIT_OK


def _cmd_sweep(args) -> int:
    from .sweep import SweepError, parse_grid, sweep

    grid = parse_grid(args.grid)
    with warnings.catch_warnings(record=True):  # recorded per point in table.warnings
        try:
            table = sweep(args.experiment, grid, overrides=args.overrides, scheduler=args.scheduler,
                          out=args.out, seed=args.seed, workers=args.workers, metric=args.metric,
                          yes=args.yes, log=None if args.quiet else print, force=args.force,
                          dry_run=args.dry_run)
        except SweepError as err:  # some points failed; the others were written
            _error(err)
            return EXIT_FAILURE
    if args.dry_run:
        print(f"sweep: {len(table.rows)} points valid; would write to {table.out}")
        return EXIT_OK
    for text in table.warnings:
        _warn(text)
    _info(args, f"sweep: {len(table.rows)} points in {table.out} ({table.ran} run, "
                f"{table.skipped} already complete); table {table.csv_path.name}"
                + (f", figure {table.figure_path.name}" if table.figure_path else ""))
    return EXIT_OK


def _cmd_reproduce(args) -> int:
    with warnings.catch_warnings(record=True) as caught:  # re-emitted once per run: printed once
        try:
            ex.reproduce(out_root=args.out, workers=args.workers, quiet=args.quiet,
                         only=args.only, force=args.force)
        except ex.ReproduceError as err:  # the others were written; each failure was logged
            _error(err)
            return EXIT_FAILURE
        finally:
            seen = set()
            for w in caught:
                text = f"{w.category.__name__}: {w.message}"
                if text not in seen:
                    seen.add(text)
                    _warn(text)
    return EXIT_OK


def _cmd_plot(args) -> int:
    from .redraw import redraw

    path = redraw(args.directory, out=args.out, metric=args.metric)
    print(f"wrote {path}")
    return EXIT_OK


def _cmd_cache(args) -> int:
    from ._cache import cache_size, clear_cache, kernel_cache_dir

    where = kernel_cache_dir()
    if args.clear:
        print(f"removed {clear_cache()} compiled-kernel files of adam-ode (from {where})")
        return EXIT_OK
    count, size = cache_size()
    print(f"{where}: {count} files, {size / 1e6:.1f} MB of compiled kernels "
          f"(set NUMBA_CACHE_DIR to move them; adam-ode cache --clear removes them)")
    return EXIT_OK


def _experiment_help(argv) -> int | None:
    """``adam-ode run EXPERIMENT --help``: the options, then the experiment's keys and defaults
    (its commented config, as ``init`` writes it)."""
    names = [a for a in argv[1:] if not a.startswith("-")]
    if not names or not ({"-h", "--help"} & set(argv)):
        return None
    spec = ex.find_experiment(names[0])  # an unknown name: the usual one-line error
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands.choices["run"].print_help()
    print(f"\nkeys of {spec.runner!r} and their defaults (set them with --set key=value):\n")
    print(ex.config_text(spec.runner).rstrip())
    return EXIT_OK


def _cmd_bench(argv) -> int:
    try:
        from .bench import main as bench_main
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("adam_ode"):
            raise ex.ExperimentError(f"the benchmark is not available ({err})") from None
        raise
    code = bench_main(list(argv))
    return EXIT_OK if code is None else int(code)


def _cmd_explore(args) -> int:
    from .explore import serve  # Panel is imported only here (the extra "explore")

    serve(port=args.port, host=args.host, show=not args.no_browser)
    return EXIT_OK


def _interrupted(err=None) -> int:
    outcome = getattr(err, "outcome", None) or (str(err.args[0]) if err is not None and err.args
                                                and err.args[0] != "interrupted" else None)
    if interrupt.claim_exit():
        print(f"{PROG}: {interrupt.interrupted_line([outcome] if outcome else [])}",
              file=sys.stderr, flush=True)
    return interrupt.exit_status()


def main(argv=None) -> int:
    """Entry point of ``adam-ode``; returns the exit status (0 success, 2 usage/config error,
    1 some experiments or sweep points failed, 130 interrupted)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "bench":
            # Delegate everything after `bench` untouched (including -h and --options).
            return _cmd_bench(argv[1:])
        if argv and argv[0] == "run":
            shown = _experiment_help(argv)
            if shown is not None:
                return shown
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
            return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
        from .plugins import PLUGIN_ERRORS

        for line in dict.fromkeys(PLUGIN_ERRORS):  # a broken plug-in is left out, and said so
            _warn(line)
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "run":
            return _cmd_run(args, args.experiment)
        if args.command == "lyapunov":
            return _cmd_run(args, "lyapunov")
        if args.command == "init":
            return _cmd_init(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "reproduce":
            return _cmd_reproduce(args)
        if args.command == "plot":
            return _cmd_plot(args)
        if args.command == "cache":
            return _cmd_cache(args)
        if args.command == "explore":
            return _cmd_explore(args)
        raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover
    except interrupt.Interrupted as err:
        return _interrupted(err)
    except KeyboardInterrupt:  # without the handler of console_main (e.g. called from Python)
        return _interrupted()
    except ParameterError as err:  # config errors and parameter checks; other errors are bugs
        if os.environ.get(ENV_DEBUG, "") not in ("", "0"):
            raise
        _error(err)
        return EXIT_USAGE


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader went away (``adam-ode list | head -2``)


def console_main() -> None:
    """The ``adam-ode`` program: :func:`main` with the Ctrl-C and SIGTERM handling of
    :mod:`interrupt`; a closed output pipe ends it quietly."""
    interrupt.install_handler(PROG)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's recipe: point stdout at devnull so the interpreter's final flush is silent.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    sys.exit(code)


if __name__ == "__main__":
    console_main()
