"""Real telemetry is messier than any simulator (issue 14 §5): each mess on purpose, through
`diagnose`, with the root known by construction."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from copilot_lab.anomaly import robust_z, variance_z
from sysai.cli import main


@pytest.fixture
def sysai(capsys):
    def run(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return SimpleNamespace(exit_code=code, stdout=captured.out, output=captured.out + captured.err)

    return run


def write(path, columns: dict, time):
    lines = [",".join(["time", *columns])]
    for i, t in enumerate(time):
        lines.append(",".join([str(t)] + ["" if np.isnan(v[i]) else f"{v[i]:.6g}" for v in columns.values()]))
    path.write_text("\n".join(lines) + "\n")
    return path


def diagnose(sysai, tmp_path, columns, time, anomaly, *extra):
    path = write(tmp_path / "m.csv", columns, time)
    done = sysai(
        "copilot", "diagnose", "--metrics", path, "--anomaly-time", anomaly, "--out", tmp_path / "o", "--json", *extra
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def noise(seed, n, scale=1.0):
    return np.random.default_rng(seed).normal(0, scale, n)


def test_few_samples_diagnose_with_lower_confidence(tmp_path, sysai):
    """A 5-minute metric: 2 normal rows, 3 anomalous ones. Diagnose anyway, say the baseline is thin."""
    time = [0, 300, 600, 900, 1200]
    thin = diagnose(
        sysai,
        tmp_path,
        {"cart_latency": np.array([10, 11, 30, 31, 29.0]), "redis_latency": np.array([5, 5.2, 5.1, 5.0, 5.3])},
        time,
        600,
    )
    assert thin["root_cause"] == "cart"
    assert any("baseline is thin" in n for n in thin["notes"])
    t = np.arange(0, 60 * 300, 300)
    rich = diagnose(
        sysai,
        tmp_path,
        {"cart_latency": np.r_[10 + noise(1, 40, 0.5), 30 + noise(2, 20, 0.5)], "redis_latency": 5 + noise(3, 60, 0.1)},
        t,
        40 * 300,
    )
    assert rich["root_cause"] == "cart" and not rich["notes"]


def test_empty_cells_are_missing_points_not_errors(tmp_path, sysai):
    t = np.arange(60)
    cart = np.r_[10 + noise(1, 40, 0.5), 25 + noise(2, 20, 0.5)]
    cart[[3, 17, 45]] = np.nan  # no datapoint
    redis = 5 + noise(3, 60, 0.2)
    redis[::7] = np.nan
    r = diagnose(sysai, tmp_path, {"cart_latency": cart, "redis_latency": redis}, t, 40)
    assert r["root_cause"] == "cart"


def test_flat_baselines_are_bounded():
    flat = np.full((30, 2), [5.0, 0.0])
    z = robust_z(flat, np.array([[5.001, 0.001]]))
    assert abs(z[0]) < 1  # 5 → 5.001 on a flat gauge: 0.02 % is not an incident
    assert 0 < z[1] <= 101  # 0 → 0.001: "something from nothing" is at most 100σ, never 1e9σ
    vz = variance_z(flat, np.array([[5.0, 0.0], [5.2, 0.1], [4.8, 0.0]]))
    assert np.isfinite(vz).all() and (np.abs(vz) < 1e3).all()


def test_a_drop_in_availability_counts_a_drop_in_latency_does_not(tmp_path, sysai):
    t = np.arange(60)
    r = diagnose(
        sysai,
        tmp_path,
        {
            "cart_availability": np.r_[0.999 + noise(1, 40, 0.0005), 0.90 + noise(2, 20, 0.0005)],  # the root: a drop
            "redis_latency": np.r_[5 + noise(3, 40, 0.1), 3 + noise(4, 20, 0.1)],  # faster: not a symptom
            "ads_latency": 8 + noise(5, 60, 0.2),
        },
        t,
        40,
    )
    assert r["root_cause"] == "cart"
    said = {j["service"]: j["score"] for j in r["jurors"]["metric"]}
    assert said.get("redis", 0.0) < 3  # a 40 % latency drop is not counted as a symptom


def test_several_metrics_per_service_are_one_candidate(tmp_path, sysai):
    t = np.arange(60)
    r = diagnose(
        sysai,
        tmp_path,
        {
            "cart_latency": np.r_[10 + noise(1, 40, 0.5), 14 + noise(2, 20, 0.5)],
            "cart_availability": np.r_[0.999 + noise(3, 40, 0.0005), 0.99 + noise(4, 20, 0.0005)],
            "cart_requests": 100 + noise(5, 60, 2),
            "redis_latency": 5 + noise(6, 60, 0.1),
            "redis_requests": 100 + noise(7, 60, 2),
        },
        t,
        40,
    )
    services = [x["service"] for x in r["ranking"]]
    assert services[0] == "cart" and len(services) == len(set(services)) == 2


def test_a_variance_change_alone_is_found(tmp_path, sysai):
    """The level stays, the spread triples (a flapping dependency): the variance detector's case."""
    t = np.arange(90)
    r = diagnose(
        sysai,
        tmp_path,
        {
            "cart_latency": np.r_[10 + noise(1, 60, 0.5), 10 + noise(2, 30, 2.5)],
            "redis_latency": 5 + noise(3, 90, 0.5),
            "ads_latency": 8 + noise(4, 90, 0.5),
        },
        t,
        60,
    )
    assert r["root_cause"] == "cart"
    assert "spread up" in (r["jurors"]["metric"][0]["evidence"] or "")


def test_no_history_before_the_anomaly_is_noted(tmp_path, sysai):
    t = np.arange(60)
    newcomer = np.r_[np.full(40, np.nan), 7 + noise(1, 20, 0.1)]  # a pod that started with the incident
    r = diagnose(
        sysai,
        tmp_path,
        {"cart_latency": np.r_[10 + noise(2, 40, 0.5), 25 + noise(3, 20, 0.5)], "newpod_latency": newcomer},
        t,
        40,
    )
    assert r["root_cause"] == "cart"
    assert any("no history" in n and "newpod" in n for n in r["notes"])


def test_sli_correlation_baseline_ranks_the_correlated_anomaly():
    from copilot_lab.anomaly import CaseView
    from copilot_lab.baselines import sli_correlation
    from copilot_lab.telemetry import Telemetry

    rng = np.random.default_rng(0)
    T = 90
    root = np.r_[np.zeros(60), np.linspace(1, 5, 30)] + rng.normal(0, 0.1, T)
    decoy = np.r_[np.zeros(60), rng.normal(0, 3, 30)] + rng.normal(0, 0.1, T)  # anomalous but unrelated
    sli = 10 + 2 * root + rng.normal(0, 0.1, T)
    cube = np.stack([sli, root, decoy], axis=1)[:, :, None]
    tel = Telemetry(["frontend", "db", "batch"], ("latency",), np.arange(T, dtype=float), cube)
    score = sli_correlation(CaseView.over_rows(tel, None, 60.0))
    assert int(np.argmax(score[1:])) + 1 == 1  # db, not the noisier batch job


def test_all_nan_column_is_a_user_error(tmp_path, sysai):
    path = tmp_path / "m.csv"
    path.write_text("time,a_cpu,b_cpu\n" + "".join(f"{t},{t % 3},\n" for t in range(10)))
    done = sysai("copilot", "diagnose", "--metrics", path, "--anomaly-time", 5, "--out", tmp_path / "o")
    assert done.exit_code == 2 and f"{path}:1: column 'b_cpu' has no numbers" in done.output
