"""The graded-task machinery: markers, solution stripping, and for every registered task the
guarantee the labs rely on — the reference solution passes, the student stub fails."""

import os
import re
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


# A pytest plugin for the handout run: which task markers each test carries, and why it failed.
STUB_REPORT_PLUGIN = """
import json, os
import pytest

ROWS = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    tasks = sorted({m.name for m in item.iter_markers() if m.name.startswith("task")})
    row = ROWS.setdefault(item.nodeid, {"tasks": tasks, "failed": False, "text": ""})
    if report.failed:
        row["failed"] = True
        row["text"] += str(report.longrepr)[-6000:]


def pytest_sessionfinish(session):
    with open(os.environ["STUB_REPORT"], "w") as f:
        json.dump(ROWS, f)
"""


@pytest.fixture(scope="module")
def stub_run(tmp_path_factory):
    """One handout with every task stubbed, and one pytest run over every task's tests in it."""
    root = tmp_path_factory.mktemp("stubs")
    handout = root / "handout"
    assert write_handout(handout) >= len(TASKS)
    (root / "stub_report.py").write_text(STUB_REPORT_PLUGIN)
    report = root / "report.json"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "STUB_REPORT": str(report),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    markers = " or ".join(t.marker for t in TASKS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-m", markers, "-q", "-p", "no:cacheprovider", "-p", "stub_report"],
        cwd=handout, capture_output=True, text=True, env=env, timeout=900,
    )
    assert report.exists(), f"the handout's test run did not finish:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    import json

    return json.loads(report.read_text())


@pytest.mark.slow
@pytest.mark.timeout(960)
@pytest.mark.parametrize("task", TASKS, ids=[t.number for t in TASKS])
def test_student_stub_fails_its_task(task, stub_run, tmp_path):
    """With every task stubbed, the task's tests fail on its own stub (the pointer names it), and
    none of them fails only because of a *later* task's stub: the sheet's order can be followed."""
    mine = {node: row for node, row in stub_run.items() if task.marker in row["tasks"]}
    assert mine, f"no test carries the marker {task.marker}"
    own = [node for node, row in mine.items() if row["failed"] and f"run sysai check {task.number}" in row["text"]]
    if not own:  # its tests stop at an earlier task's stub first: stub this task alone to see it fail
        _only_this_stub_fails(task, tmp_path)
    number = tuple(int(x) for x in task.number.split("."))
    for node, row in mine.items():
        if not row["failed"] or f"run sysai check {task.number}" in row["text"]:
            continue
        needed = {tuple(int(x) for x in m.split(".")) for m in re.findall(r"run sysai check (\d+\.\d+)", row["text"])}
        assert needed and max(needed) < number, (
            f"{node} (task {task.number}) fails for another reason than an earlier task's stub: "
            f"{sorted(needed)}\n{row['text'][-1500:]}")


def _only_this_stub_fails(task, tmp_path):
    handout = tmp_path / "handout"
    assert write_handout(handout, only=task.marker) >= 1
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-m", task.marker, "-x", "-q", "-p", "no:cacheprovider"],
        cwd=handout, capture_output=True, text=True, env=env, timeout=170,
    )
    assert done.returncode == 1, f"stubbed task {task.number} should fail its tests:\n{done.stdout[-2000:]}"
    assert "TaskNotDone" in done.stdout and f"run sysai check {task.number}" in done.stdout
