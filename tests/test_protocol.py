"""Guided-session protocols: the TOML form, the built-ins, and errors that name the line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synktrack.errors import InputError
from synktrack.protocol import MOVEMENTS, builtin_names, load_protocol, parse_protocol

# The form given in the issue (and in synktrack.protocol's docstring), verbatim.
ISSUE_FORM = '''\
name = "weekly-check"
version = 1
[[step]]
movement = "rest"
duration_s = 4.0
prompt = "Relax your face and look at the camera."
'''

# Words that ask for force: therapy for synkinesis wants small, gentle movements.
FORCEFUL = re.compile(r"\b(big|bigger|biggest|hard|harder|maximum|max|as much as|as wide as"
                      r"|as far as|strongly|forcefully)\b", re.IGNORECASE)


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the installed console script (so exit codes and stderr are the user's)."""
    exe = shutil.which("synktrack", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-c", "from synktrack.cli import main; main()"]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", "TERM": "dumb"}
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def three_steps(step3_movement: str = '"pucker"', step2_duration: str = "3.0") -> str:
    """A valid protocol whose third step's movement and second step's duration can be broken."""
    return (
        'name = "mine"\n'                 # 1
        "version = 2\n"                   # 2
        "\n"                              # 3
        "[[step]]\n"                      # 4
        'movement = "rest"\n'             # 5
        "duration_s = 2.0\n"              # 6
        "\n"                              # 7
        "[[step]]\n"                      # 8
        'movement = "smile"\n'            # 9
        f"duration_s = {step2_duration}\n"  # 10
        'prompt = "Smile gently."\n'      # 11
        "\n"                              # 12
        "[[step]]\n"                      # 13
        f"movement = {step3_movement}\n"  # 14
        "duration_s = 2.5\n"              # 15
    )  # fmt: skip


# --------------------------------------------------------------------------- the TOML form


def test_the_issue_form_parses() -> None:
    p = parse_protocol(ISSUE_FORM)
    assert p.name == "weekly-check"
    assert p.version == 1
    assert len(p.steps) == 1
    (step,) = p.steps
    assert step.movement == "rest"
    assert step.duration_s == 4.0
    assert step.prompt == "Relax your face and look at the camera."
    assert step.start_s == 0.0
    assert p.duration_s == 4.0
    assert p.movements() == []


def test_start_times_are_cumulative_and_shift() -> None:
    p = parse_protocol(three_steps())
    assert [s.movement for s in p.steps] == ["rest", "smile", "pucker"]
    assert [s.start_s for s in p.steps] == [0.0, 2.0, 5.0]
    assert [s.end_s for s in p.steps] == [2.0, 5.0, 7.5]
    assert p.duration_s == 7.5
    assert p.version == 2
    assert p.movements() == ["pucker", "smile"]
    moved = p.shifted(1.5)
    assert [s.start_s for s in moved.steps] == [1.5, 3.5, 6.5]
    assert p.steps[0].start_s == 0.0  # the original is untouched
    d = moved.to_dict()
    assert d["name"] == "mine" and [s["start_s"] for s in d["steps"]] == [1.5, 3.5, 6.5]


def test_integer_durations_and_version_default() -> None:
    text = 'name = "x"\n[[step]]\nmovement = "smile"\nduration_s = 3\n'
    p = parse_protocol(text)
    assert p.version == 1
    assert p.steps[0].duration_s == 3.0 and isinstance(p.steps[0].duration_s, float)


def test_load_from_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(three_steps(), encoding="utf-8")
    p = load_protocol(f)
    assert p.name == "mine" and p.source == str(f)
    assert load_protocol(str(f)).duration_s == 7.5


# --------------------------------------------------------------------------- built-ins


def test_builtins_are_listed_by_the_library() -> None:
    names = builtin_names()
    assert "weekly-check" in names
    assert "quick-check" in names
    for n in names:
        p = load_protocol(n)
        assert p.name == n, "a built-in's name must match its file name"
        assert p.source == f"built-in:{n}"


def test_builtins_are_listed_by_the_cli() -> None:
    proc = cli("protocols")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout + proc.stderr
    for n in builtin_names():
        assert n in text
    assert "Traceback" not in text


def test_builtins_are_listed_via_clirunner() -> None:
    from typer.testing import CliRunner

    from synktrack.cli import app

    result = CliRunner().invoke(app, ["protocols"], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    for n in builtin_names():
        assert n in result.output


def test_cli_shows_one_protocol() -> None:
    proc = cli("protocols", "weekly-check")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout + proc.stderr
    assert "weekly-check" in text and "Smile gently" in text


def test_weekly_check_is_about_two_minutes_gentle_and_rested() -> None:
    p = load_protocol("weekly-check")
    assert 100.0 <= p.duration_s <= 140.0, p.duration_s
    steps = p.steps
    assert steps[0].movement == "rest", "a session starts at rest (the baseline)"
    assert steps[-1].movement == "rest", "the last movement needs a rest after it"
    for a, b in zip(steps, steps[1:], strict=False):
        assert not (a.movement != "rest" and b.movement != "rest"), \
            f"{a.movement} at {a.start_s} s is followed by {b.movement} with no rest between"
    for s in steps:
        if s.movement == "rest":
            assert s.duration_s >= 3.0, "rest steps must be long enough to relax and measure"
        else:
            assert 3.0 <= s.duration_s <= 10.0
    counts = {m: sum(s.movement == m for s in steps) for m in MOVEMENTS if m != "rest"}
    assert set(p.movements()) == set(counts), "every movement is in the weekly check"
    for m, n in counts.items():
        assert n >= 2, f"{m} is done {n} time(s): repeatability needs at least 2"


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_prompts_are_gentle(name: str) -> None:
    p = load_protocol(name)
    for s in p.steps:
        assert s.prompt.strip(), f"{name}: step at {s.start_s} s has no prompt"
        hit = FORCEFUL.search(s.prompt)
        assert hit is None, f"{name}: prompt asks for force ({hit.group(0)!r}): {s.prompt!r}"
    for s in p.steps:
        if s.movement != "rest":
            assert re.search(r"\b(gentl\w*|soft\w*|small|mild\w*)\b", s.prompt, re.I), \
                f"{name}: the {s.movement} prompt does not ask for a gentle movement: {s.prompt!r}"


def test_forceful_word_filter_can_fail() -> None:
    assert FORCEFUL.search("Smile as much as you can")
    assert FORCEFUL.search("Close your eyes HARD")
    assert FORCEFUL.search("Big smile!")
    assert not FORCEFUL.search("Smile gently, lips closed. Small is fine: no need to push.")


# --------------------------------------------------------------------------- errors


def _line(err: pytest.ExceptionInfo[InputError]) -> int:
    m = re.search(r"\bline (\d+)\b", str(err.value))
    assert m, f"the message names no line: {err.value}"
    return int(m.group(1))


def test_bad_toml_syntax_names_the_line() -> None:
    text = three_steps().replace("duration_s = 2.5", "duration_s = = 2.5")
    with pytest.raises(InputError) as err:
        parse_protocol(text, "mine.toml")
    assert _line(err) == 15
    assert "mine.toml" in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_movement_in_step_3_names_its_line() -> None:
    with pytest.raises(InputError) as err:
        parse_protocol(three_steps(step3_movement='"wink"'), "mine.toml")
    assert _line(err) == 14
    msg = str(err.value)
    assert "step 3" in msg and "wink" in msg
    for m in MOVEMENTS:
        assert m in msg, "the message lists the movements that are allowed"


def test_step_without_movement_names_its_header() -> None:
    text = three_steps().replace('movement = "pucker"\n', "")
    with pytest.raises(InputError) as err:
        parse_protocol(text)
    assert _line(err) == 13
    assert "step 3" in str(err.value)


@pytest.mark.parametrize("bad", ["-2.0", "0", "0.0", "601", "nan", "inf", '"3"', "true"])
def test_bad_duration_names_the_line(bad: str) -> None:
    with pytest.raises(InputError) as err:
        parse_protocol(three_steps(step2_duration=bad), "mine.toml")
    assert _line(err) == 10
    assert "step 2" in str(err.value) and "duration_s" in str(err.value)


def test_missing_name_names_a_line() -> None:
    text = three_steps().replace('name = "mine"\n', "\n")
    with pytest.raises(InputError) as err:
        parse_protocol(text, "mine.toml")
    msg = str(err.value)
    assert "name" in msg
    # Nothing to point at: the message must still say where to add it (line 1, top level).
    assert _line(err) == 1


@pytest.mark.parametrize("bad", ['""', '"   "', "3"])
def test_empty_or_wrong_type_name_names_its_line(bad: str) -> None:
    text = three_steps().replace('name = "mine"', f"name = {bad}")
    with pytest.raises(InputError) as err:
        parse_protocol(text)
    assert _line(err) == 1


def test_bad_version_and_no_steps() -> None:
    with pytest.raises(InputError) as err:
        parse_protocol(three_steps().replace("version = 2", "version = 0"))
    assert _line(err) == 2
    with pytest.raises(InputError, match="no steps"):
        parse_protocol('name = "x"\nversion = 1\n')


@pytest.mark.parametrize("steps", ["step = [1, 2]", 'step = ["rest"]', "step = [[1]]"])
def test_steps_that_are_not_tables_are_input_errors(steps: str) -> None:
    """Malformed `step` arrays must be an InputError, never an AttributeError."""
    with pytest.raises(InputError, match="step"):
        parse_protocol(f'name = "x"\n{steps}\n')


def test_prompt_must_be_text() -> None:
    text = three_steps().replace('prompt = "Smile gently."', "prompt = 3")
    with pytest.raises(InputError) as err:
        parse_protocol(text)
    assert _line(err) == 11


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(InputError) as err:
        load_protocol("no-such-protocol")
    for n in builtin_names():
        assert n in str(err.value)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (three_steps().replace("duration_s = 2.5", "duration_s = = 2.5"), 15),
        (three_steps(step3_movement='"wink"'), 14),
        (three_steps(step2_duration="-1"), 10),
    ],
    ids=["syntax", "movement", "duration"],
)
def test_cli_bad_protocol_exits_2_with_one_line(tmp_path: Path, content: str, line: int) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(content, encoding="utf-8")
    for args in (("protocols", f), ("analyze", tmp_path / "clip.mp4", "--protocol", f,
                                    "--out", tmp_path / "out")):
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("synktrack: error:"), lines[0]
        assert f"line {line}" in lines[0]
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists(), "a bad protocol must stop before anything is written"


def test_cli_missing_name_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "noname.toml"
    f.write_text(three_steps().replace('name = "mine"\n', ""), encoding="utf-8")
    proc = cli("protocols", f)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "name" in proc.stderr


def test_cli_unknown_protocol_exits_2() -> None:
    proc = cli("protocols", "no-such-protocol")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "weekly-check" in proc.stderr
