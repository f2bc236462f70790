"""Inputs from elsewhere (issue 14 §1): a plain call graph as --topology, foreign metric names and
time units, and the one-line errors for bad files."""

import json
from types import SimpleNamespace

import pytest
import yaml

from sysai.cli import main


@pytest.fixture
def sysai(capsys):
    def run(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return SimpleNamespace(exit_code=code, stdout=captured.out, output=captured.out + captured.err)

    return run


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    from sysai.cli import main as run

    out = tmp_path_factory.mktemp("case")
    assert (
        run(["copilot", "inject", "--fault", "cpu_hog", "--root", "cart", "--seed", "3", "--out", str(out), "--json"])
        == 0
    )
    truth = json.loads((out / "case.json").read_text())
    spec = yaml.safe_load((out / "topology.yaml").read_text())
    calls = [[s["name"], callee] for s in spec["services"] for callee in s["calls"]]
    return out, truth, spec, calls


def test_plain_json_call_graph_is_accepted(case, sysai, tmp_path):
    """The issue's failing case: {"services", "calls", "entry"} as JSON used to be refused as an
    unknown key of SystemSpec."""
    out, truth, spec, calls = case
    graph = tmp_path / "graph.json"
    graph.write_text(
        json.dumps({"services": [s["name"] for s in spec["services"]], "calls": calls, "entry": "frontend"})
    )
    done = sysai(
        "copilot",
        "diagnose",
        "--metrics",
        out / "metrics.csv",
        "--topology",
        graph,
        "--anomaly-time",
        truth["onset_time"],
        "--out",
        tmp_path / "d",
        "--json",
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["root_cause"] == "cart"
    assert report["jurors"]["topology"]
    assert any("call path" in line for line in report["explanation"])


def test_yaml_call_graph_with_unused_keys_is_noted_once(case, sysai, tmp_path):
    out, truth, spec, calls = case
    graph = tmp_path / "graph.yaml"
    graph.write_text(
        yaml.safe_dump(
            {"services": [s["name"] for s in spec["services"]], "calls": calls, "owner": "team-a", "version": 3}
        )
    )
    done = sysai(
        "copilot",
        "diagnose",
        "--metrics",
        out / "metrics.csv",
        "--topology",
        graph,
        "--anomaly-time",
        truth["onset_time"],
        "--out",
        tmp_path / "d",
        "--json",
    )
    assert done.exit_code == 0, done.output
    notes = json.loads(done.stdout)["notes"]
    unused = [n for n in notes if "not used" in n]
    assert len(unused) == 1 and "owner" in unused[0] and "version" in unused[0]


def test_service_missing_from_graph_is_diagnosed_with_a_note(case, sysai, tmp_path):
    out, truth, spec, calls = case
    graph = tmp_path / "graph.json"
    names = [s["name"] for s in spec["services"] if s["name"] != "ads"]
    graph.write_text(json.dumps({"services": names, "calls": [c for c in calls if "ads" not in c]}))
    done = sysai(
        "copilot",
        "diagnose",
        "--metrics",
        out / "metrics.csv",
        "--topology",
        graph,
        "--anomaly-time",
        truth["onset_time"],
        "--out",
        tmp_path / "d",
        "--json",
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert any("ads" in n and "not in the call graph" in n for n in report["notes"])


@pytest.mark.parametrize(
    "content,message",
    [
        ({"services": ["frontend", "ghost"], "calls": [["frontend", "ghost"]]}, "'ghost'"),
        ({"services": ["frontend", "cart"], "calls": [["frontend", "nowhere"]]}, "calls[0]"),
        ({"services": ["frontend", "cart"], "calls": [["frontend"]]}, "calls[0]"),
        (
            {
                "services": ["frontend", "cart"],
                "calls": [["frontend", "cart"]],
                "causal_edges": [["cart", "frontend"], ["frontend", "cart"]],
            },
            "cycle",
        ),
        ({"calls": [["frontend", "cart"]], "entry": "nope"}, "entry"),
    ],
)
def test_bad_call_graph_is_one_line_naming_the_key(case, sysai, tmp_path, content, message):
    out, truth, _, _ = case
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(content))
    done = sysai(
        "copilot",
        "diagnose",
        "--metrics",
        out / "metrics.csv",
        "--topology",
        graph,
        "--anomaly-time",
        truth["onset_time"],
        "--out",
        tmp_path / "d",
    )
    assert done.exit_code == 2
    line = done.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert str(graph) in line and message in line


def test_foreign_metric_names_and_millisecond_time(case, sysai, tmp_path):
    """Any metric suffix, any numeric time unit: the same case with time in ms and renamed metrics."""
    out, truth, spec, calls = case
    lines = (out / "metrics.csv").read_text().splitlines()
    header = ["time"] + [c.replace("_cpu", "_cpu-usage").replace("_latency", "_p99") for c in lines[0].split(",")[1:]]
    body = [",".join([str(int(float(r.split(",")[0]) * 1000))] + r.split(",")[1:]) for r in lines[1:]]
    (tmp_path / "m.csv").write_text("\n".join([",".join(header)] + body) + "\n")
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps({"calls": calls}))
    done = sysai(
        "copilot",
        "diagnose",
        "--metrics",
        tmp_path / "m.csv",
        "--topology",
        graph,
        "--anomaly-time",
        int(truth["onset_time"] * 1000),
        "--out",
        tmp_path / "d",
        "--json",
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["root_cause"] == "cart"
