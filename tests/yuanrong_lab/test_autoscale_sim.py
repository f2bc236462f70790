import json

from sysai.cli import main
from yuanrong_lab.autoscale_sim import BurstScenario, arrivals, simulate_burst, variants


def test_burst_mode_and_short_windows_cut_the_tail():
    scenario = BurstScenario(horizon_s=40.0)
    times = arrivals(scenario, seed=7)
    out = {name: simulate_burst(scenario, cfg, times) for name, cfg in variants(20).items()}
    assert all(o["calls"] == len(times) for o in out.values())
    assert out["burst mode"]["p99_ms"] < out["window-1s (openYuanrong default)"]["p99_ms"] < out["window-3s"]["p99_ms"]
    assert out["burst mode"]["cold_starts"] >= out["window-3s"]["cold_starts"]
    assert simulate_burst(scenario, variants(20)["burst mode"], times) == out["burst mode"]


def test_autoscale_command_writes_results(tmp_path, capsys):
    assert main(["yuanrong", "autoscale", "--quick", "--json", "--out", str(tmp_path)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert "burst mode" in results["variants"] and (tmp_path / "autoscale_p99.png").exists()
    assert main(["yuanrong", "autoscale", "--max-instances", "0", "--out", str(tmp_path)]) == 2


def test_the_table_names_the_queue_the_run_used(tmp_path, capsys):
    def note() -> str:  # the table's note, wherever the console wrapped it
        return " ".join(capsys.readouterr().out.split())

    assert main(["yuanrong", "autoscale", "--quick", "--out", str(tmp_path)]) == 0
    assert "wait in one queue (the gateway's path)" in note()
    assert main(["yuanrong", "autoscale", "--quick", "--instance-queue", "--out", str(tmp_path)]) == 0
    assert "behind one busy instance (the Python API's path)" in note()
