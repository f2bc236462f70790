"""Seeding, results, tables, plotting and timing: the helpers every lab shares."""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest

from sysai.plotting import figure
from sysai.results import finish, prepare_out, to_jsonable, write_csv
from sysai.seeding import child_seed, py_random, rng
from sysai.tables import fmt, markdown_table
from sysai.timing import Timer


def test_same_seed_same_numbers_and_streams_are_independent():
    assert np.array_equal(rng(7, "a").random(5), rng(7, "a").random(5))
    assert not np.array_equal(rng(7, "a").random(5), rng(7, "b").random(5))
    assert not np.array_equal(rng(7, "a").random(5), rng(8, "a").random(5))
    assert py_random(3, "x").random() == py_random(3, "x").random()
    assert child_seed(1, "p", 0) == child_seed(1, "p", 0) != child_seed(1, "p", 1)


def test_seeding_leaves_global_state_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    rng(1, "x").random(10)
    assert np.random.random() == expected


@dataclass
class Point:
    x: float
    label: str


def test_to_jsonable_handles_numpy_nan_paths_dataclasses():
    data = to_jsonable({"a": np.float32(1.5), "b": np.int64(3), "c": float("nan"), "d": Path("r"),
                        "e": Point(np.float64(2.0), "p"), "f": np.arange(2), "g": (1, 2)})
    assert data == {"a": 1.5, "b": 3, "c": None, "d": "r", "e": {"x": 2.0, "label": "p"}, "f": [0, 1], "g": [1, 2]}
    json.dumps(data)


def test_finish_json_mode_prints_only_json(tmp_path, capsys):
    finish({"x": 1}, tmp_path, True, lambda: print("TABLE"))
    out = capsys.readouterr().out
    assert json.loads(out) == {"x": 1}
    assert json.loads((tmp_path / "results.json").read_text()) == {"x": 1}


def test_finish_table_mode(tmp_path, capsys):
    finish({"x": 1}, tmp_path, False, lambda: print("TABLE"))
    assert "TABLE" in capsys.readouterr().out


def test_prepare_out_default_and_explicit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert prepare_out("lab", "cmd", None) == Path("results/lab/cmd")
    assert (tmp_path / "results/lab/cmd").is_dir()
    assert prepare_out("lab", "cmd", tmp_path / "x") == tmp_path / "x"


def test_write_csv_union_header(tmp_path):
    path = write_csv(tmp_path / "r.csv", [{"a": 1}, {"a": 2, "b": np.float64(0.5)}])
    assert path.read_text().splitlines() == ["a,b", "1,", "2,0.5"]


@pytest.mark.parametrize("value,text", [(1234567, "1,234,567"), (0.12345, "0.123"), (None, "—"),
                                        (float("nan"), "—"), (True, "yes"), ("x", "x"), (12.0, "12")])
def test_fmt(value, text):
    assert fmt(value) == text


def test_markdown_table():
    assert markdown_table(["a", "b"], [[1, 0.5]]) == "| a | b |\n|---|---|\n| 1 | 0.5 |"


def test_figure_writes_png_and_leaves_rcparams_alone(tmp_path):
    before = dict(mpl.rcParams)
    with figure(tmp_path / "f.png", title="t", xlabel="x", ylabel="y") as ax:
        ax.plot([0, 1], [0, 1], label="line")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert dict(mpl.rcParams) == before
    with figure(tmp_path / "g.png", ncols=2) as axes:
        assert len(axes) == 2


def test_timer_measures():
    with Timer() as t:
        sum(range(1000))
    assert 0 <= t.elapsed < 1 and math.isclose(t.elapsed_ms, t.elapsed * 1e3)


def test_prepare_out_on_a_file_is_a_user_error(tmp_path):
    from sysai.errors import UserError

    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="exists and is not a folder"):
        prepare_out("lab", "cmd", tmp_path / "f")


def test_print_table_shows_brackets_literally(capsys):
    from sysai.tables import print_table

    print_table("t", ["cell"], [["[x] kept"]])
    assert "[x] kept" in capsys.readouterr().out
