"""The console script and `python -m sitegen`: Ctrl-C while Python is still loading sitegen,
or parsing the command line, ends as it does later, with `sitegen: interrupted` and exit 130,
not with a traceback (SPEC §7).  Kept apart from the CLI so that it imports nothing first."""

from __future__ import annotations

import sys


def entry() -> None:
    try:
        from sitegen.cli import entry as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("sitegen: interrupted\n")
        raise SystemExit(130) from None
