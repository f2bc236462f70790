
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
    for info in CATALOG:
        assert info.name in out
    assert "built" in out


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
    monkeypatch.setattr(catalog, "discover", lambda: unbuilt)
    monkeypatch.setattr("sysai.cli.discover", lambda: unbuilt)
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
