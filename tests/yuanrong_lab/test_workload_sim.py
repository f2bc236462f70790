import numpy as np
import pytest

from sysai.errors import UserError
from yuanrong_lab.keepalive.base import KeepAliveConfig
from yuanrong_lab.keepalive_sim import Variant, default_variants, headline, simulate
from yuanrong_lab.workload import FunctionTrace, Workload, generate, load_azure_csv


def test_generator_is_seeded_and_spans_orders_of_magnitude():
    a, b = generate(300, 6, seed=1), generate(300, 6, seed=1)
    assert [len(f.arrivals) for f in a.functions] == [len(f.arrivals) for f in b.functions]
    counts = np.array([len(f.arrivals) for f in a.functions])
    assert counts.max() >= 1000 * max(1, np.percentile(counts, 10))
    assert {f.kind for f in a.functions} == {"timer", "poisson", "bursty"}
    assert all(np.all(np.diff(f.arrivals) >= 0) and (f.arrivals < a.horizon_s).all() for f in a.functions)
    assert generate(300, 6, seed=2).invocations != a.invocations


def _azure_csv(path, rows):
    header = ["HashOwner", "HashApp", "HashFunction", "Trigger"] + [str(m) for m in range(1, 1441)]
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_azure_csv_layout_is_read(tmp_path):
    counts = ["0"] * 1440
    counts[0], counts[59] = "3", "2"
    path = _azure_csv(tmp_path / "d01.csv", [["o", "a", "fnhash", "http", *counts]])
    w = load_azure_csv(path, seed=0)
    (fn,) = w.functions
    assert fn.name == "fnhash" and fn.kind == "http" and len(fn.arrivals) == 5
    assert (fn.arrivals[:3] < 60).all() and (fn.arrivals[3:] >= 59 * 60).all()
    assert w.horizon_s == 86400.0
    assert len(load_azure_csv(path, seed=0, hours=0.5).functions[0].arrivals) == 3


def test_azure_csv_errors_name_file_and_line(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_azure_csv(tmp_path / "missing.csv", seed=0)
    bad = _azure_csv(tmp_path / "bad.csv", [["o", "a", "f", "timer", *(["1"] * 1439), "x"]])
    with pytest.raises(UserError, match=r"bad.csv:2: per-minute counts"):
        load_azure_csv(bad, seed=0)
    short = _azure_csv(tmp_path / "short.csv", [["o", "a", "f", "timer", "1"]])
    with pytest.raises(UserError, match=r"short.csv:2: expected 1444 columns"):
        load_azure_csv(short, seed=0)
    (tmp_path / "hdr.csv").write_text("a,b,c\n")
    with pytest.raises(UserError, match="header"):
        load_azure_csv(tmp_path / "hdr.csv", seed=0)


def test_simulation_counts_cold_starts_and_idle_memory_exactly():
    # one function called at 0, 100 and 1000 s, 1 s each, 2 GB: fixed 10 min keeps it warm once
    fn = FunctionTrace("f", "poisson", np.array([0.0, 100.0, 1000.0]), 1.0, 2.0)
    out = simulate(
        Workload([fn], 2000.0, "t"),
        Variant("fixed", KeepAliveConfig(policy="fixed", options={"ttl_s": 600.0})),
        cold_start_s=0.5,
    )
    assert (out.invocations, out.cold_starts) == (3, 2)
    # idle 1.5→100, 101→701 (expired), 1001.5→1601.5: (98.5 + 600 + 600) s x 2 GB
    assert out.idle_memory_gb_s == pytest.approx(2 * (98.5 + 600 + 600))
    assert out.p75_function_cold_start_pct == pytest.approx(200 / 3)


def test_hybrid_beats_fixed_on_timers_and_headline_pairs_them():
    w = generate(120, 12, seed=3)
    outcomes = {v.label: simulate(w, v) for v in default_variants(["fixed", "hybrid-histogram"])}
    assert (
        outcomes["hybrid-histogram-4h"].p75_function_cold_start_pct
        < outcomes["fixed-10min"].p75_function_cold_start_pct
    )
    table = {
        k: {
            "cold_start_pct": o.cold_start_pct,
            "p75_function_cold_start_pct": o.p75_function_cold_start_pct,
            "idle_memory_gb_s": o.idle_memory_gb_s,
        }
        for k, o in outcomes.items()
    }
    h = headline(table)
    assert h["hybrid"] == "hybrid-histogram-4h"
    lo, hi = (table[n] for n in h["fixed_between"])
    assert lo["idle_memory_gb_s"] <= h["hybrid_idle_memory_gb_s"] <= hi["idle_memory_gb_s"]


def test_headline_interpolates_the_fixed_curve_at_the_hybrids_memory():
    table = {
        "fixed-a": {"idle_memory_gb_s": 100.0, "cold_start_pct": 10.0, "p75_function_cold_start_pct": 100.0},
        "fixed-b": {"idle_memory_gb_s": 300.0, "cold_start_pct": 2.0, "p75_function_cold_start_pct": 60.0},
        "hybrid-histogram-4h": {"idle_memory_gb_s": 250.0, "cold_start_pct": 4.0, "p75_function_cold_start_pct": 40.0},
    }
    h = headline(table)
    assert h["fixed_between"] == ["fixed-a", "fixed-b"]
    assert h["fixed_cold_pct_same_memory"] == pytest.approx(4.0)  # 10 + 0.75 * (2 - 10)
    assert h["fixed_p75_cold_pct_same_memory"] == pytest.approx(70.0)
    table["hybrid-histogram-4h"]["idle_memory_gb_s"] = 500.0
    assert headline(table) == {}  # outside the fixed range: no honest comparison


def test_unknown_policy_filter_is_a_user_error():
    with pytest.raises(UserError, match="unknown keep-alive policy"):
        default_variants(["lru"])
