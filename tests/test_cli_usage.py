"""Usage mistakes reach the user as one line and exit code 2, through the real console script."""

from __future__ import annotations

import pytest
from cli_tools import assert_one_line_error, run_cli

import synktrack


@pytest.mark.parametrize("args", [
    ["nosuchcmd"],
    ["report"],
    ["analyze", "x.mp4", "--max-frames", "ten"],
    ["analyze", "--bogus", "x"],
    ["events", "add", "--kind", "botox"],
    ["model", "--bogus"],
    ["analyze", "x.mp4", "--offset-s", "soon"],
    ["batch", "--jobs", "many", "x"],
    ["check", "--port", "http"],
])
def test_usage_error_is_one_line_exit_2(args: list[str]) -> None:
    proc = run_cli(*args)
    line = assert_one_line_error(proc, 2)
    assert "--help" in line  # says where to look


def test_no_arguments_shows_help_and_exits_2() -> None:
    proc = run_cli()
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "analyze" in proc.stdout  # the help, with the commands
    assert len(proc.stderr.splitlines()) <= 1


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"synktrack {synktrack.__version__}"


def test_help_still_exits_0() -> None:
    proc = run_cli("analyze", "--help")
    assert proc.returncode == 0 and "--max-frames" in proc.stdout


def test_typer_usage_errors_are_typer_exceptions() -> None:
    """main() catches typer.TyperException: the vendored click's errors must stay below it."""
    import typer
    from typer._click.exceptions import NoSuchOption, UsageError

    assert issubclass(UsageError, typer.TyperException)
    assert issubclass(NoSuchOption, UsageError)
