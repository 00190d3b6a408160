"""What the command line writes when its reader is odd: a closed pipe, a locale that cannot
encode the site's text, a folder that is no site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = (
    '[site]\ntitle = "T"\nbase_url = "https://e.org/"\n'
    '[bodies.NA]\nname = "Assemblée nationale"\nseats = 342\n'
)


def _site(tmp_path: Path, paragraphs: int) -> Path:
    site = tmp_path / "site"
    (site / "content" / "articles").mkdir(parents=True)
    (site / "site.toml").write_text(CONFIG, encoding="utf-8")
    body = "".join("Said 180 of 340 ① <<seats NA=178/340>>.\n\n" for _ in range(paragraphs))
    text = f"---\ntitle: A\ndate: 2021-03-06\n---\n{body}"
    (site / "content" / "articles" / "a.md").write_text(text, encoding="utf-8")
    return site


def _sitegen(*args: str) -> list[str]:
    return [sys.executable, "-m", "sitegen", *args]


def test_a_reader_that_stops_reading_does_not_change_the_exit_status(tmp_path: Path) -> None:
    site = _site(tmp_path, 3000)  # far more warnings than a pipe holds
    run = subprocess.Popen(
        _sitegen("check", str(site), "--format", "github", "--no-cache"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout is not None and run.stderr is not None
    run.stdout.close()  # as `| true` does, before sitegen has written anything
    err = run.stderr.read().decode()
    assert run.wait(timeout=60) == 1, err
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["json", "github"])
def test_machine_formats_are_utf8_whatever_the_locale(tmp_path: Path, fmt: str) -> None:
    site = _site(tmp_path, 1)
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    run = subprocess.run(
        _sitegen("check", str(site), "--format", fmt, "--no-cache"), capture_output=True, env=env, timeout=60
    )
    assert run.returncode == 1, run.stderr.decode()
    out = run.stdout.decode("utf-8")
    if fmt == "json":
        assert json.loads(out)["summary"]["errors"] == 1
    assert "Assemblée nationale" in out


def test_a_folder_that_is_no_site_gets_no_cache(tmp_path: Path) -> None:
    run = subprocess.run(_sitegen("build", str(tmp_path)), capture_output=True, timeout=60)
    assert run.returncode == 2
    err = run.stderr.decode()
    assert "no site.toml" in err and "is unchanged" not in err
    assert not (tmp_path / ".sitegen-cache").exists()


def test_an_empty_out_is_a_usage_error_not_the_default(tmp_path: Path) -> None:
    site = _site(tmp_path, 1)
    run = subprocess.run(_sitegen("build", str(site), "--out", ""), capture_output=True, timeout=60)
    assert run.returncode == 2 and "--out needs a directory" in run.stderr.decode()
    assert not (site / "public").exists()


@pytest.mark.parametrize("command", ["build", "watch"])
def test_help_describes_every_argument_with_its_default(command: str, capsys) -> None:
    from sitegen.cli import main

    assert main([command, "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "site directory (default: .)" in shown
    assert "default: SITE/public; a relative DIR is relative to the current directory, not SITE" in shown
    if command == "watch":
        assert "(default: 127.0.0.1" in shown and "(default: 8000" in shown


def test_ctrl_c_while_sitegen_is_still_loading_ends_without_a_traceback() -> None:
    script = (
        "import builtins, os, signal, sitegen.launch\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'sitegen.cli':\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "sitegen.launch.entry()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, "check"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (130, "sitegen: interrupted\n")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["build", "{site}", "--format", "json", "--jobs", "abc"], "invalid job count: 'abc'"),
        (["check", "{site}", "--jobs", "-1", "--format=json"], "must be 0 (as many as cores) or more"),
        (["build", "{site}", "--form", "json", "--bogus"], "unrecognized arguments: --bogus"),
        (["build", "{site}", "--format", "github", "--jobs", "abc"], "invalid job count: 'abc'"),
        (["build", "{site}", "--format", "github", "--out", "{site}"], "--out is the site directory itself"),
    ],
)
def test_a_usage_error_reaches_a_script_reading_a_machine_format(
    tmp_path: Path, args: list[str], says: str, capsys
) -> None:
    from sitegen.cli import main

    site = str(_site(tmp_path, 1))
    status = main([arg.replace("{site}", site) for arg in args])
    out, err = capsys.readouterr()
    assert status == 2
    assert says in err
    if "github" in args:
        (line,) = out.splitlines()
        assert line.startswith("::error title=sitegen::") and says in line
    else:
        report = json.loads(out)
        assert report["diagnostics"] == [] and says in report["error"]


def test_a_usage_error_in_text_format_writes_nothing_on_stdout(tmp_path: Path, capsys) -> None:
    from sitegen.cli import main

    assert main(["check", str(_site(tmp_path, 1)), "--jobs", "abc"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "usage: sitegen check" in err and "invalid job count" in err


def test_a_signal_while_watch_is_still_loading_stops_it_with_status_0(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import signal
    import time

    import sitegen.watch
    from sitegen.cli import main

    def loading(root: Path, args: object) -> int:  # a signal before the watcher's handlers are in place
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        return 5

    monkeypatch.setattr(sitegen.watch, "watch_command", loading)
    before = signal.getsignal(signal.SIGINT)
    assert main(["watch", str(_site(tmp_path, 1)), "--port", "0"]) == 0
    assert "stopped" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before
