"""Command line: argument parsing, output formats and exit codes; nothing else (SPEC §7)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from sitegen import __version__
from sitegen.diagnostics import (
    Diagnostic,
    Summary,
    exit_status,
    format_github,
    format_json,
    format_summary_line,
    format_text,
    report_failure,
    report_failure_to_machines,
)

EXIT_USAGE = 2
OUT_HELP = (
    "output directory (default: SITE/public; a relative DIR is relative to the current directory, not SITE)"
)


def _job_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid job count: {text!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"the job count must be 0 (as many as cores) or more, not {count}")
    return count


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser, self.message = parser, message


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors `main` reports: to stderr as argparse does, and
    also to a script that asked for JSON or workflow commands, which reads only stdout."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


def _format_asked(argv: Sequence[str]) -> str:
    """The --format an argument list asks for, read without parsing it (it may not parse)."""
    fmt = "text"
    for i, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if len(name) >= 4 and "--format".startswith(name):  # argparse takes `--form` for it too
            fmt = value if equals else (argv[i + 1] if i + 1 < len(argv) else fmt)
    return fmt


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sitegen",
        description="Static sites for fact-checked journalism: every figure checked before it is published.",
    )
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("site", nargs="?", default=".", metavar="SITE", help="site directory (default: .)")
        cmd.add_argument("--strict", action="store_true", help="treat warnings as errors")
        cmd.add_argument(
            "--format", choices=("text", "json", "github"), default="text", help="how diagnostics are printed"
        )
        cmd.add_argument(
            "--jobs",
            type=_job_count,
            default=None,
            metavar="N",
            help="worker processes (default or 0: cores)",
        )
        cmd.add_argument("--no-cache", action="store_true", help="neither use nor update SITE/.sitegen-cache")

    check = commands.add_parser("check", help="check every annotation; publish nothing")
    common(check)
    build = commands.add_parser("build", help="check, render and publish the site")
    common(build)
    build.add_argument("--out", metavar="DIR", help=OUT_HELP)
    build.add_argument("--drafts", action="store_true", help="publish drafts too")
    watch = commands.add_parser("watch", help="build, serve and rebuild on every change")
    watch.add_argument("site", nargs="?", default=".", metavar="SITE", help="site directory (default: .)")
    watch.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1, this machine only)"
    )
    watch.add_argument(
        "--port", type=int, default=8000, help="port to serve on (default: 8000; 0 picks a free one)"
    )
    watch.add_argument("--out", metavar="DIR", help=OUT_HELP)
    watch.add_argument("--drafts", action="store_true", help="show drafts too")
    init = commands.add_parser("init", help="create a new site that builds clean")
    init.add_argument("dir", metavar="DIR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    except _UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
        fmt = _format_asked(sys.argv[1:] if argv is None else argv)
        _encodable_output(fmt)
        report_failure_to_machines(fmt, f"{exc.parser.prog}: {exc.message}")
        return EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _encodable_output(getattr(args, "format", "text"))
    try:
        return _run(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to tell it
        _silence(sys.stdout)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sitegen: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the promise: no traceback reaches a user
        report_failure(getattr(args, "format", "text"), f"internal error: {type(exc).__name__}: {exc}")
        if os.environ.get("SITEGEN_DEBUG"):
            print(getattr(exc, "trace", ""), end="", file=sys.stderr)  # a worker's own traceback
            raise
        return EXIT_USAGE


def _encodable_output(fmt: str) -> None:
    """JSON and workflow commands are UTF-8 whatever the locale (a Windows runner's is cp1252);
    text a terminal cannot show comes out escaped, never as an internal error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is sys.stdout and fmt in ("json", "github"):
                stream.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
            else:
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass  # not a text stream sitegen can change (a test's capture, say): left as it is


def _silence(stream) -> None:  # type: ignore[no-untyped-def]
    """Point a stream whose reader is gone at /dev/null, so flushing it at exit does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _run(args: argparse.Namespace) -> int:
    if args.command == "init":
        from sitegen.scaffold import init_site

        return init_site(Path(args.dir))
    root = Path(args.site)
    if getattr(args, "out", None) == "":  # not the default output: that is a flag left out
        report_failure(getattr(args, "format", "text"), "--out needs a directory")
        return EXIT_USAGE
    if not root.is_dir():
        report_failure(getattr(args, "format", "text"), f"{args.site}: no such site directory")
        return EXIT_USAGE
    if not (root / "site.toml").exists():  # SG901 says so; leave no cache in a folder that is no site
        args.no_cache = True
    if args.command == "check":
        return _check(root, args)
    if args.command == "build":
        from sitegen.cli_build import build_command

        return build_command(root, args, report)
    return _watch(root, args)


class _StoppedEarly(Exception):
    pass


def _watch(root: Path, args: argparse.Namespace) -> int:
    """`watch`, which a signal stops with exit status 0 from the start: also while it is still
    loading, before the watcher puts its own handlers in place."""

    def stop(signum: int, frame: object) -> None:
        raise _StoppedEarly

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread (a test calling in-process)
            previous[sig] = signal.signal(sig, stop)
    try:
        from sitegen.watch import watch_command

        return watch_command(root, args)  # puts its own handlers in place before it serves
    except _StoppedEarly:
        print("sitegen: stopped", file=sys.stderr)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check(root: Path, args: argparse.Namespace) -> int:
    from sitegen.cli_build import default_jobs
    from sitegen.pipeline import check_site

    started = time.perf_counter()
    jobs = args.jobs if args.jobs and args.jobs > 0 else default_jobs()
    checked = check_site(root, jobs=jobs, use_cache=not args.no_cache)
    report(
        checked.diagnostics, checked.summary, checked.site.texts, args.format, time.perf_counter() - started
    )
    return exit_status(checked.diagnostics, strict=args.strict)


def report(
    diags: list[Diagnostic], summary: Summary, texts: dict[str, str], fmt: str, seconds: float | None
) -> None:
    """Print diagnostics in the chosen format; the summary line goes to stderr."""
    if fmt == "json":
        _emit(sys.stdout, format_json(diags, summary) + "\n")
        return
    if fmt == "github":
        _emit(sys.stdout, format_github(diags))
    else:
        color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
        _emit(sys.stderr, format_text(diags, texts, color=color))
    _emit(sys.stderr, f"sitegen: {format_summary_line(summary, seconds)}\n")


def _emit(stream, text: str) -> None:  # type: ignore[no-untyped-def]
    """Write; a reader that stopped reading (`| head`) changes nothing, the exit status least."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        _silence(stream)


def entry() -> None:
    """The console script: exits without tearing the heap down object by object, which on a
    big site takes longer than a no-op rebuild (everything worth keeping is written by now)."""
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            _silence(stream)
    os._exit(status)
