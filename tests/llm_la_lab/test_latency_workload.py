import gzip
import json

import pytest

from sysai.errors import UserError

from llm_la_lab.capacity import saturation_rate
from llm_la_lab.latency import LatencyModel, fit_vidur, load_latency
from llm_la_lab.replica import ReplicaConfig
from llm_la_lab.workload import load_trace, parse_columns, synthetic


def test_default_coefficients_are_the_vidur_fit():
    assert fit_vidur() == LatencyModel()
    model = LatencyModel()
    # measured: 32 layers × 8.17 ms + embedding at 4096 tokens (Vidur, A100, TP=1)
    assert model.iteration_s(4096, 0, 0) == pytest.approx(0.2617, rel=0.03)
    assert model.iteration_s(1, 0, 0) == pytest.approx(0.00928)


def test_latency_yaml_overrides_and_rejects_unknown_keys(tmp_path):
    good = tmp_path / "lat.yaml"
    good.write_text("per_token_s: 1.0e-4\noverhead_s: 0.002\n")
    model = load_latency(good)
    assert model.per_token_s == 1e-4 and model.overhead_s == 0.002 and model.floor_s == LatencyModel().floor_s
    bad = tmp_path / "bad.yaml"
    bad.write_text("per_tokn_s: 1\n")
    with pytest.raises(UserError, match="per_tokn_s"):
        load_latency(bad)


def test_bundled_traces_load():
    conv = load_trace("conv")
    assert len(conv) == 19366 and conv.arrival[0] == 0 and (conv.arrival[1:] >= conv.arrival[:-1]).all()
    assert 5 < conv.rate < 6
    assert len(load_trace("code")) == 8819


def test_csv_with_millisecond_numbers_and_mapping(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t_ms,in,out\n1000,10,5\n0,20,6\n2500,30,7\n")
    w = load_trace(path, "arrival=t_ms,input=in,output=out", "ms")
    assert list(w.arrival) == [0.0, 1.0, 2.5] and list(w.prompt) == [20, 10, 30]


def test_gzipped_jsonl_with_wall_clock_timestamps(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    rows = [{"ts": "2023-11-16 18:15:46.68059", "p": 5, "o": 3}, {"ts": "2023-11-16 18:15:47.1805900", "p": 6, "o": 4}]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n")
    w = load_trace(path, "arrival=ts,input=p,output=o")
    assert w.arrival[1] == pytest.approx(0.5)


def test_excel_bom_iso_z_timestamps_and_unreadable_files(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffts,in,out\n2023-11-16T18:15:46Z,3,4\n2023-11-16T18:15:48.25Z,5,6\n".encode())
    assert list(load_trace(path, "arrival=ts,input=in,output=out").arrival) == [0.0, 2.25]
    path.write_text('{"ts": 0, "p": true, "o": 1}\n')
    with pytest.raises(UserError, match="t.jsonl:1: column p: True is not a token count"):
        load_trace(path.rename(tmp_path / "t.jsonl"), "arrival=ts,input=p,output=o")
    broken = tmp_path / "x.csv.gz"
    broken.write_text("not gzip")
    with pytest.raises(UserError, match="x.csv.gz: cannot read the trace"):
        load_trace(broken)
    same = tmp_path / "same.csv"
    same.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n1,10,5\n1,10,5\n")
    with pytest.raises(UserError, match="same time"):
        load_trace(same).at_rate(2.0)


@pytest.mark.parametrize("body,message", [
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,5\n1,abc,5\n", r"t.csv:3: column ContextTokens: 'abc'"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,5\nyesterday,10,5\n", r"t.csv:3: column TIMESTAMP"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,0\n", r"t.csv:2: .* positive"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10\n", r"t.csv:2: column GeneratedTokens is missing"),
    ("time,ContextTokens,GeneratedTokens\n0,10,5\n", r"t.csv:1: no column\(s\) TIMESTAMP"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,5\n1,10,5,9\n", r"t.csv:3: 3 columns in the header, 4 in this row"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,5\nnan,10,5\n",
     r"t.csv:3: column TIMESTAMP: 'nan' is not a finite"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n0,1e400,5\n", r"t.csv:2: column ContextTokens: '1e400'"),
])
def test_malformed_csv_names_file_and_line(tmp_path, body, message):
    path = tmp_path / "t.csv"
    path.write_text(body)
    with pytest.raises(UserError, match=message):
        load_trace(path)


def test_malformed_jsonl_and_missing_file(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"TIMESTAMP": 0, "ContextTokens": 1, "GeneratedTokens": 1}\n{oops\n')
    with pytest.raises(UserError, match="t.jsonl:2: not valid JSON"):
        load_trace(path)
    with pytest.raises(UserError, match="not found"):
        load_trace(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="--columns"):
        parse_columns("arrival")
    with pytest.raises(UserError, match="time-unit"):
        load_trace("conv", time_unit="h")


def test_synthetic_rates_and_burstiness():
    poisson = synthetic(4000, 10.0, seed=1)
    bursty = synthetic(4000, 10.0, seed=1, arrival="gamma", cv=3.0)
    assert poisson.rate == pytest.approx(10, rel=0.08) and bursty.rate == pytest.approx(10, rel=0.25)
    gaps_p, gaps_b = poisson.arrival[1:] - poisson.arrival[:-1], bursty.arrival[1:] - bursty.arrival[:-1]
    assert gaps_b.std() / gaps_b.mean() > 2 * gaps_p.std() / gaps_p.mean()
    log = synthetic(100, 1.0, seed=2, lengths="lognormal:100,20")
    assert (log.prompt >= 1).all()
    assert synthetic(5, 1.0, seed=3).prompt.tolist() == synthetic(5, 1.0, seed=3).prompt.tolist()
    with pytest.raises(UserError):
        synthetic(10, 1.0, seed=1, arrival="uniform")


def test_rescaling_hits_the_target_rate_and_capacity_scales_with_replicas():
    conv = load_trace("conv").head(2000)
    assert conv.at_rate(20.0).rate == pytest.approx(20.0)
    one = saturation_rate(conv.prompt, conv.output, 1, ReplicaConfig(), LatencyModel())
    assert saturation_rate(conv.prompt, conv.output, 8, ReplicaConfig(), LatencyModel()) == pytest.approx(8 * one)
    assert 1 < one < 20
