import json

from sysai.cli import main
from yuanrong_lab.bench import parse_hey

HEY_REPORT = """
Summary:
  Total:	3.0021 secs
  Requests/sec:	1131.2000

Latency distribution:
  10% in 0.0051 secs
  99% in 0.0392 secs

Status code distribution:
  [200]	3390 responses
  [500]	6 responses
"""


def test_keepalive_quick_writes_results_and_pareto(tmp_path, capsys):
    from yuanrong_lab.keepalive.base import POLICIES

    assert (
        main(
            [
                "yuanrong",
                "keepalive",
                "--functions",
                "40",
                "--hours",
                "12",
                "--out",
                str(tmp_path),
                "--json",
                "--policy",
                "fixed",
                "--policy",
                "hybrid-histogram",
            ]
        )
        == 0
    )
    results = json.loads(capsys.readouterr().out)
    expected = {f"{name}-{label}" for name in ("fixed", "hybrid-histogram") for label, _ in POLICIES.get(name).sweep()}
    assert set(results["policies"]) == expected  # the whole sweep of each policy, nothing dropped
    for row in results["policies"].values():
        assert {"cold_start_pct", "p75_function_cold_start_pct", "idle_memory_gb_s"} <= set(row)
    assert set(results["policies"]["hybrid-histogram-4h"]["cold_start_pct_by_kind"]) == {"timer", "poisson", "bursty"}
    assert set(results["pareto_overall"]) <= expected and results["pareto_overall"]
    h = results["headline"]
    lo, hi = (results["policies"][n] for n in h["fixed_between"])
    assert lo["idle_memory_gb_s"] <= h["hybrid_idle_memory_gb_s"] <= hi["idle_memory_gb_s"]  # same memory, interpolated
    assert (
        min(lo["cold_start_pct"], hi["cold_start_pct"])
        <= h["fixed_cold_pct_same_memory"]
        <= max(lo["cold_start_pct"], hi["cold_start_pct"])
    )
    assert (tmp_path / "keepalive_pareto.png").stat().st_size > 0
    header = (tmp_path / "functions.csv").read_text().splitlines()[0]
    assert header == "policy,function,kind,invocations,cold_starts,idle_memory_gb_s"
    assert json.loads((tmp_path / "results.json").read_text())["functions"] == 40


def test_bad_inputs_are_one_line_exit_2(tmp_path, capsys):
    assert main(["yuanrong", "keepalive", "--policy", "lru", "--out", str(tmp_path)]) == 2
    assert "unknown keep-alive policy 'lru'" in capsys.readouterr().err
    assert main(["yuanrong", "keepalive", "--trace", str(tmp_path / "none.csv"), "--out", str(tmp_path)]) == 2
    assert "trace file not found" in capsys.readouterr().err
    assert main(["yuanrong", "invoke", "echo", "--data", "{bad"]) == 2
    assert "--data is not valid JSON" in capsys.readouterr().err
    assert main(["yuanrong", "invoke", "echo", "--url", "http://127.0.0.1:9"]) == 2
    assert "cannot reach the gateway" in capsys.readouterr().err
    assert main(["yuanrong", "invoke", "echo", "--url", "127.0.0.1:8000"]) == 2
    assert "expected an http(s) URL" in capsys.readouterr().err
    assert main(["yuanrong", "keepalive", "--cold-start-s", "-1", "--out", str(tmp_path)]) == 2
    assert "--cold-start-s must be >= 0" in capsys.readouterr().err
    assert main(["yuanrong", "serve", "--port", "70000"]) == 2  # refused before Ray starts
    assert "--port" in capsys.readouterr().err
    assert main(["yuanrong", "keepalive", "--plugin", str(tmp_path / "nope.py"), "--out", str(tmp_path)]) == 2
    assert "plugin file not found" in capsys.readouterr().err


def test_a_malformed_azure_row_names_file_and_line(tmp_path, capsys):
    header = "HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 1441))
    row = lambda h, v: f"o,a,{h},http," + ",".join([str(v)] * 1440)  # noqa: E731
    trace = tmp_path / "d01.csv"
    trace.write_text(f"{header}\n{row('f1', 1)}\n{row('f2', 'x')}\n")
    assert main(["yuanrong", "keepalive", "--trace", str(trace), "--out", str(tmp_path / "out"), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip() == f"error: {trace}:3: per-minute counts must be whole numbers"


def test_hey_report_is_parsed_with_its_errors():
    rps, p99, errors = parse_hey(HEY_REPORT)
    assert (rps, round(p99, 6), errors) == (1131.2, 39.2, "6 x 500")


def test_a_students_policy_file_joins_the_comparison(tmp_path, capsys):
    plugin = tmp_path / "always_warm.py"
    plugin.write_text(
        "from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows\n\n"
        "@POLICIES.register('always-warm')\n"
        "class AlwaysWarm(KeepAlivePolicy):\n"
        "    def on_invocation(self, now):\n"
        "        return Windows(0.0, 1e9)\n"
    )
    assert (
        main(
            [
                "yuanrong",
                "keepalive",
                "--functions",
                "20",
                "--hours",
                "6",
                "--plugin",
                str(plugin),
                "--policy",
                "always-warm",
                "--policy",
                "none",
                "--json",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    policies = json.loads(capsys.readouterr().out)["policies"]
    assert set(policies) == {"none", "always-warm"}
    # warm forever: each function's first call is its only cold start
    assert policies["always-warm"]["cold_starts"] <= 20 < policies["none"]["cold_starts"]


def test_a_policy_plugin_with_options_and_a_default_joins_the_sweep(tmp_path, capsys):
    plugin = tmp_path / "idle_for.py"
    plugin.write_text(
        "from dataclasses import dataclass\n"
        "from sysai.config import option\n"
        "from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows\n\n"
        "@POLICIES.register('idle-for', default=True)\n"
        "class IdleFor(KeepAlivePolicy):\n"
        "    @dataclass\n"
        "    class Config:\n"
        "        idle_s: float = option(30.0, 'keep-alive')\n\n"
        "    def on_invocation(self, now):\n"
        "        return Windows(0.0, self.config.idle_s)\n\n"
        "    @classmethod\n"
        "    def sweep(cls):\n"
        "        return [('1s', {'idle_s': 1.0}), ('1d', {'idle_s': 86400.0})]\n"
    )
    assert (
        main(
            [
                "yuanrong",
                "keepalive",
                "--functions",
                "10",
                "--hours",
                "3",
                "--plugin",
                str(plugin),
                "--json",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    policies = json.loads(capsys.readouterr().out)["policies"]
    assert {"idle-for-1s", "idle-for-1d", "none", "fixed-10min", "hybrid-histogram-4h"} <= set(policies)
    assert policies["idle-for-1d"]["cold_starts"] <= 10 < policies["idle-for-1s"]["cold_starts"]
