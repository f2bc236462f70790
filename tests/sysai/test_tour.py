import json

import typer

from sysai.catalog import CATALOG, Lab, LabStatus
from sysai.plotting import figure
from sysai.tour import TourSection, run_tour


def _fake_tour(ctx):
    fig = ctx.out / "fig.png"
    with figure(fig) as ax:
        ax.plot([0, 1], [1, 0])
    return TourSection("demo comparison", "B beats A.", ["policy", "p99 s"], [["A", 2.0], ["B", 1.0]],
                       [fig], {"p99": {"A": 2.0, "B": 1.0}})


def _failing_tour(ctx):
    raise RuntimeError("kaboom")


def test_tour_report_lists_unbuilt_labs_and_writes_sections(tmp_path, monkeypatch):
    statuses = [
        LabStatus(CATALOG[0], Lab(typer.Typer(), _fake_tour)),
        LabStatus(CATALOG[1], Lab(typer.Typer(), _failing_tour)),
        LabStatus(CATALOG[2], None),
        LabStatus(CATALOG[3], None),
    ]
    monkeypatch.setattr("sysai.tour.discover", lambda: statuses)
    entries = run_tour(tmp_path, seed=1, quick=True)
    assert [e.status.split(":")[0] for e in entries] == ["ok", "failed", "not built yet", "not built yet"]
    report = (tmp_path / "report.md").read_text()
    assert "| A | 2 |" in report and "not built yet" in report and "trio/fig.png" in report
    assert "kaboom" in (tmp_path / "llm-la" / "error.txt").read_text()
    assert "<table>" in (tmp_path / "index.html").read_text()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["labs"]["trio"]["p99"] == {"A": 2.0, "B": 1.0}
    assert results["labs"]["copilot"]["status"] == "not built yet"
