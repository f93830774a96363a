"""Command-line interface ``adam-ode``.

Subcommands::

    adam-ode list                                  experiments and one-line descriptions
    adam-ode run EXPERIMENT [--set key=value ...] [--out DIR] [--seed N] [--workers N] [--quiet]
    adam-ode reproduce [--out DIR] [--workers N] [--quiet] [--only NAME ...]
    adam-ode lyapunov [--set key=value ...] [...]  the lyapunov experiment; prints its table
    adam-ode bench [args ...]                      benchmark (adam_ode.bench)

Configuration and validation errors print one line on stderr and exit with status 2
(set ``ADAM_ODE_DEBUG=1`` to see the traceback instead).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import experiments as ex
from ._validation import ParameterError

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_FAILURE = 1  # some experiments of `reproduce` failed
EXIT_USAGE = 2  # argparse's status for usage errors; also used for config/validation errors
ENV_DEBUG = "ADAM_ODE_DEBUG"  # set to 1 to get the traceback of a ValueError instead of one line
PROG = "adam-ode"


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


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, parsed as TOML (repeatable), e.g. "
                        "--set gammas=[0.1,0.01] --set 'problem={name=\"double-well\", d=2}'")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/<experiment>)")
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (overrides the config's seed)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="worker threads (default: all cores; results do not depend on it)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or info lines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Continuous-time dynamics of Adam: experiments and figures.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list the experiments with their descriptions")

    p_run = sub.add_parser("run", help="run one experiment")
    p_run.add_argument("experiment", help="experiment name (see `adam-ode list`)")
    _add_run_options(p_run)

    p_rep = sub.add_parser("reproduce", help="run every experiment with its default config "
                                             "into figures/<name>/")
    p_rep.add_argument("--out", metavar="DIR", help="root output directory (default figures)")
    p_rep.add_argument("--workers", type=_positive_int, default=None,
                       help="worker threads (default: all cores; results do not depend on it)")
    p_rep.add_argument("--quiet", action="store_true", help="no progress bars")
    p_rep.add_argument("--only", nargs="+", metavar="NAME", help="only these experiments")

    p_lya = sub.add_parser("lyapunov", help="Lyapunov energy verification table and figure")
    _add_run_options(p_lya)

    sub.add_parser("bench", help="benchmark (arguments are passed to adam_ode.bench)",
                   add_help=False)
    return parser


def _info(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _cmd_list(args) -> int:
    experiments = ex.list_experiments()
    runners = ex.registered_runners()
    width = max(len(n) for n in experiments) if experiments else 0
    for name, description in experiments.items():
        mark = "" if name in runners else "  [no runner yet]"
        print(f"{name:<{width}}  {description}{mark}")
    return EXIT_OK


def _cmd_run(args, name: str) -> int:
    record = ex.run_experiment(name, overrides=args.overrides, out_dir=args.out, seed=args.seed,
                               workers=args.workers, quiet=args.quiet)
    if record.result.table:
        print(record.result.table)
    files = ", ".join(p.name for p in record.files)
    _info(args, f"{name}: {record.wall_time:.2f} s; wrote {files} to {record.out_dir}")
    return EXIT_OK


def _cmd_reproduce(args) -> int:
    try:
        ex.reproduce(out_root=args.out, workers=args.workers, quiet=args.quiet, only=args.only)
    except ex.ReproduceError as err:  # the others were written; each failure was logged
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
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


def main(argv=None) -> int:
    """Entry point of ``adam-ode``; returns the exit status (0 success, 2 usage/config error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "bench":
            # Delegate everything after `bench` untouched (including -h and --options).
            return _cmd_bench(argv[1:])
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
            return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "run":
            return _cmd_run(args, args.experiment)
        if args.command == "lyapunov":
            return _cmd_run(args, "lyapunov")
        if args.command == "reproduce":
            return _cmd_reproduce(args)
        raise AssertionError(f"unhandled command {args.command!r}")  # pragma: no cover
    except ParameterError as err:  # config errors and parameter checks; other errors are bugs
        if os.environ.get(ENV_DEBUG, "") not in ("", "0"):
            raise
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
