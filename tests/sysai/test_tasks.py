"""The graded-task machinery: markers, solution stripping, and for every registered task the
guarantee the labs rely on — the reference solution passes, the student stub fails."""

import os
import subprocess
import sys

import pytest

from sysai.errors import UserError
from sysai.paths import repo_root
from sysai.tasks import marker_for, registered_tasks, solution_blocks, strip_solutions, write_handout

SOURCE = """def f(x):
    # BEGIN SOLUTION task2_1
    return x + 1
    # END SOLUTION


def g(x):
    # BEGIN SOLUTION task2_2
    y = x * 2
    return y
    # END SOLUTION
"""


def test_marker_for():
    assert marker_for("2.3") == "task2_3" == marker_for("task2_3")
    with pytest.raises(UserError):
        marker_for("2")


def test_strip_all_and_only_one():
    text, n = strip_solutions(SOURCE)
    assert n == 2 and "return x + 1" not in text and "y = x * 2" not in text
    assert '    raise TaskNotDone("2.1")' in text and "    from sysai.errors import TaskNotDone" in text
    compile(text, "stub.py", "exec")
    namespace: dict = {}
    exec(text, namespace)
    with pytest.raises(NotImplementedError, match=r"this needs Task 2\.1 \(labs/\S+\.md.*\) — run sysai check 2\.1"):
        namespace["f"](1)
    text, n = strip_solutions(SOURCE, only="task2_2")
    assert n == 1 and "return x + 1" in text and "y = x * 2" not in text


def test_unclosed_block_is_an_error():
    with pytest.raises(ValueError, match="never closed"):
        strip_solutions("# BEGIN SOLUTION task1_1\nx = 1\n")


def test_handout_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(UserError, match="not empty"):
        write_handout(tmp_path)


TASKS = registered_tasks(repo_root())


@pytest.mark.parametrize("task", TASKS, ids=[t.number for t in TASKS])
def test_every_task_has_a_solution_block(task):
    assert task.marker in solution_blocks(), f"no '# BEGIN SOLUTION {task.marker}' block in the sources"


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS, ids=[t.number for t in TASKS])
def test_student_stub_fails_its_task(task, tmp_path):
    handout = tmp_path / "handout"
    assert write_handout(handout, only=task.marker) >= 1
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-m", task.marker, "-x", "-q", "-p", "no:cacheprovider"],
        cwd=handout, capture_output=True, text=True, env=env, timeout=170,
    )
    assert done.returncode == 1, f"stubbed task {task.number} should fail its tests:\n{done.stdout[-2000:]}"
    assert "TaskNotDone" in done.stdout and f"run sysai check {task.number}" in done.stdout
