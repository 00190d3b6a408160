"""Bounded cost: inputs that break naive parsers, each checked by `sitegen check` with a time limit.

    python bench/pathological.py [--limit 10]

Prints one line per case with the wall time and peak memory; exits 1 if any case takes
longer than --limit seconds or ends with a traceback.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SITE_TOML = """[site]
title = "Pathological"
base_url = "https://example.org/"

[bodies.NA]
name = "National Assembly"
seats = 342
"""
FRONT = "---\ntitle: Case\ndate: 2021-03-06\n---\n"
ANNOTATION = "Allies hold 178 of 342 seats <<seats NA=178/342 majority=yes>>. "


def cases() -> dict[str, str]:
    return {
        "1 MB paragraph": FRONT + ("word " * 200_000) + "\n",
        "10,000 annotations in one article": FRONT + "\n\n".join([ANNOTATION] * 10_000) + "\n",
        "10,000 annotations on one line": FRONT + ANNOTATION * 10_000 + "\n",
        "5,000 nested block quotes": FRONT + "".join("> " * i + "x\n" for i in range(1, 5001)),
        "100,000 '<' characters": FRONT + "<" * 100_000 + "\n",
        "100,000 '<<' on separate lines": FRONT + "<<\n" * 100_000,
        "50,000 unterminated strings": FRONT + '<<claim quote="' * 50_000 + "\n",
        "200 KB line of brackets": FRONT + "[" * 200_000 + "\n",
    }


def run_case(name: str, text: str, limit: float) -> bool:
    site = Path(tempfile.mkdtemp(prefix="sitegen-patho-"))
    try:
        (site / "site.toml").write_text(SITE_TOML)
        (site / "content" / "articles").mkdir(parents=True)
        (site / "content" / "articles" / "case.md").write_text(text)
        cmd = ["/usr/bin/time", "-f", "%M"] if shutil.which("/usr/bin/time") else []
        cmd += [sys.executable, "-m", "sitegen", "check", str(site), "--format", "json", "--no-cache"]
        started = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit * 3)
        except subprocess.TimeoutExpired:
            print(f"FAIL {name}: no answer within {limit * 3:.0f}s")
            return False
        elapsed = time.perf_counter() - started
        peak = proc.stderr.strip().splitlines()[-1] if cmd[0] == "/usr/bin/time" else "?"
        clean = "Traceback" not in proc.stderr and proc.returncode in (0, 1, 2)
        ok = clean and elapsed <= limit
        megabytes = int(peak) // 1024 if peak.isdigit() else peak
        verdict = "ok  " if ok else "FAIL"
        print(f"{verdict} {name}: {elapsed:.2f}s, peak {megabytes} MB, exit {proc.returncode}")
        return ok
    finally:
        shutil.rmtree(site, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed per case")
    args = parser.parse_args()
    results = [run_case(name, text, args.limit) for name, text in cases().items()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
