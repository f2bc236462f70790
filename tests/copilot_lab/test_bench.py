"""`sysai copilot bench --quick`: every method on every source, side by side (no timing asserts)."""

import json

import pytest

from sysai.cli import main

pytest.importorskip("pyrca.simulation.data_gen", reason="foreign cases need `pip install --no-deps sfr-pyrca`")


@pytest.mark.timeout(180)
def test_bench_quick_runs_every_method_on_every_source(tmp_path, capsys):
    assert main(["copilot", "bench", "--quick", "--out", str(tmp_path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["sources"]) == {"own", "foreign_graph", "foreign_no_graph"}
    for source, methods in r["sources"].items():
        assert {"multi_agent", "metric", "baro", "nsigma", "sli_corr"} <= set(methods), source
    assert {"log", "trace", "topology"} <= set(r["sources"]["own"])  # own cases carry logs, traces, the spec
    assert "topology" in r["sources"]["foreign_graph"] and "topology" not in r["sources"]["foreign_no_graph"]
    assert set(r["aims"]) == {"graph_ac1", "graph_avg5", "graph_beats_baselines", "no_graph_vs_baro", "ms_per_case"}
    assert (tmp_path / "results.json").is_file()
    # the baselines do not see the graph: their ranks are identical with and without it
    assert r["sources"]["foreign_graph"]["baro"]["ac1"] == r["sources"]["foreign_no_graph"]["baro"]["ac1"]
