
import pytest

from sysai import catalog
from sysai.catalog import CATALOG, LabStatus
from sysai.cli import main


def test_help_lists_every_lab(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for info in CATALOG:
        assert info.name in out


def test_list_shows_four_labs_with_status(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.count("│") > 3}
    for info in CATALOG:
        assert info.name in rows and rows[info.name].rstrip("│ ").endswith("built"), rows.get(info.name)
        assert "not built" not in rows[info.name]


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_bad_task_number_one_line_exit_2(capsys):
    assert main(["check", "two.three"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_unknown_task_exit_2(capsys):
    assert main(["check", "9.99"]) == 2
    assert "no task 9.99" in capsys.readouterr().err


def test_check_list(capsys):
    assert main(["check", "--list"]) == 0
    assert "task" in capsys.readouterr().out


def test_unbuilt_lab_says_so(monkeypatch, capsys):
    unbuilt = [LabStatus(info, None) for info in CATALOG]
    monkeypatch.setattr(catalog, "discover", lambda only=None: unbuilt)
    monkeypatch.setattr("sysai.cli.discover", lambda only=None: unbuilt)
    assert main(["copilot", "evaluate"]) == 2
    assert "not built yet" in capsys.readouterr().err


def test_internal_error_is_one_line_and_debug_shows_traceback(monkeypatch, capsys):
    def boom():
        raise RuntimeError("kaboom")

    monkeypatch.setattr("sysai.cli.list_labs", boom)
    assert main(["list"]) == 1
    assert "internal error: RuntimeError: kaboom" in capsys.readouterr().err
    with pytest.raises(RuntimeError):
        main(["list", "--debug"])


def test_version(capsys):
    assert main(["version"]) == 0
    assert "sysai-labs" in capsys.readouterr().out


def test_console_script_runs_in_a_subprocess():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sysai", "list"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "trio" in done.stdout


@pytest.mark.parametrize("argv, where", [
    (["llm-la", "compare", "--seed", "-1"], "sysai llm-la compare --help"),
    (["llm-la", "no-such-command"], "sysai llm-la --help"),
    (["no-such-command"], "sysai --help"),
    (["trio", "compare", "--no-such-option"], "sysai trio compare --help"),
    (["--seed", "-1", "llm-la", "compare"], "sysai --help"),
])
def test_typer_usage_errors_are_one_line_pointing_to_help(argv, where, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"`{where}`" in lines[0], captured.err
    assert "Usage:" not in captured.out + captured.err


@pytest.mark.parametrize("argv", [[], ["llm-la"]])
def test_a_bare_command_shows_its_help_and_no_error(argv, capsys):
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Commands" in captured.out and "error" not in captured.err, captured.err


def test_a_shared_option_before_the_command_says_where_it_goes(capsys):
    assert main(["--seed", "1", "llm-la", "compare"]) == 2
    assert "--seed is an option of each command: put it after the command" in capsys.readouterr().err


def test_help_imports_no_lab():
    import subprocess
    import sys

    code = ("import sys; from sysai.cli import main; main(['--help']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0].endswith('_lab')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", "sysai --help must not import the labs (start-up time)"


def test_a_stub_reached_by_a_command_is_a_one_line_pointer(monkeypatch, capsys):
    from sysai.errors import TaskNotDone

    def stub():
        raise TaskNotDone("2.1")

    monkeypatch.setattr("sysai.cli.list_labs", stub)
    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: this needs Task 2.1 (labs/llm-la.md §1) — run sysai check 2.1"


def test_a_stub_reached_inside_a_ray_task_is_the_same_one_line(monkeypatch, capsys):
    from ray.exceptions import RayTaskError

    from sysai.errors import TaskNotDone

    def remote_stub():  # what ray.get raises: Ray's subclass of the cause, whose str() is the remote traceback
        raise RayTaskError("_run_point", "Traceback (most recent call last):\n  ...", TaskNotDone("2.1")) \
            .as_instanceof_cause()

    monkeypatch.setattr("sysai.cli.list_labs", remote_stub)
    assert main(["list"]) == 2
    assert capsys.readouterr().err.strip() == "error: this needs Task 2.1 (labs/llm-la.md §1) — run sysai check 2.1"


def test_plugins_lists_every_registry_of_every_lab(capsys):
    from sysai.catalog import discover
    from sysai.registry import resolve

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    statuses = discover()
    assert all(s.lab is not None and s.lab.registries for s in statuses), "every lab lists its registries"
    for status in statuses:
        for path in status.lab.registries:
            for name in resolve(path).names():
                assert name in out, (status.info.name, path, name)
    assert main(["plugins", "no-such-lab"]) == 2


def test_plugins_lists_a_plugin_file_given_with_plugin(tmp_path):
    import os
    import subprocess
    import sys

    # the sheets' extend steps: write one file, then see it listed (a subprocess: registries are global)
    (tmp_path / "spread_agent.py").write_text(
        "from copilot_lab.agents.base import AGENTS, Agent\n\n\n"
        "@AGENTS.register('spread-from-a-file')\n"
        "class Spread(Agent):\n    \"\"\"A juror from a file.\"\"\"\n")
    done = subprocess.run([sys.executable, "-m", "sysai", "plugins", "copilot", "--plugin",
                           str(tmp_path / "spread_agent.py")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0 and "spread-from-a-file" in done.stdout, done.stderr
