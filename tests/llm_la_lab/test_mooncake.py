"""Long-context traces (Mooncake, FAST'25): the issue's command completes, rejects are counted, bad rows are named."""

import gzip
import json

import pytest

from sysai.cli import main

from llm_la_lab.replica import ReplicaConfig
from llm_la_lab.workload import MOONCAKE_BLOCK_TOKENS, bundled_path, load_trace


@pytest.fixture
def mooncake_file(tmp_path):
    path = tmp_path / "mooncake_trace.jsonl"
    path.write_bytes(gzip.decompress(bundled_path("mooncake").read_bytes()))
    return path


def test_the_issue_command_completes_and_counts_the_requests_no_replica_can_hold(mooncake_file, capsys):
    """`compare --trace <mooncake>.jsonl --columns … --time-unit ms --instances 4` used to stop at request 97."""
    code = main(["llm-la", "compare", "--trace", str(mooncake_file), "--columns",
                 "arrival=timestamp,input=input_length,output=output_length", "--time-unit", "ms", "--instances", "4",
                 "--requests", "400", "--policies", "round_robin,least_requests", "--json",
                 "--out", str(mooncake_file.parent / "out")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    trace = load_trace(mooncake_file).head(400)
    too_long = int(((trace.prompt + trace.output) > ReplicaConfig().context_limit).sum())
    assert too_long >= 1, "the slice holds a request longer than an A100's Llama-2-7b KV cache"
    for policy in ("round_robin", "least_requests"):
        assert data["policies"][policy]["rejected"] == too_long
        assert 0 < data["policies"][policy]["prefix_hit_rate"] < 1


def test_the_bundled_trace_keeps_its_block_hashes_and_is_small():
    trace = load_trace("mooncake")
    assert bundled_path("mooncake").stat().st_size < 400_000 and len(trace) == 3993
    assert trace.key_tokens == MOONCAKE_BLOCK_TOKENS and len(trace.keys) == len(trace)
    assert all(len(k) == -(-p // MOONCAKE_BLOCK_TOKENS) for k, p in zip(trace.keys[:200], trace.prompt[:200]))
    seen, repeated, total = set(), 0, 0
    for keys in trace.keys:
        total += len(keys)
        repeated += sum(k in seen for k in keys)
        seen.update(keys)
    assert 0.5 < repeated / total < 0.8  # the trace's point: most blocks repeat an earlier one


@pytest.mark.parametrize("row,message", [
    ({"timestamp": 0, "input_length": -3, "output_length": 5, "hash_ids": [1]}, "input_length: -3 is not a positive"),
    ({"timestamp": 0, "output_length": 5, "hash_ids": [1]}, "column input_length is missing"),
    ({"timestamp": 0, "input_length": 30, "output_length": 5, "hash_ids": [1, "x"]},
     "hash_ids must be a list of integers"),
    ({"timestamp": 0, "input_length": 30, "output_length": 5, "hash_ids": 7}, "hash_ids must be a list of integers"),
])
def test_bad_rows_name_file_and_line_and_exit_2(tmp_path, capsys, row, message):
    path = tmp_path / "bad.jsonl"
    good = {"timestamp": 0, "input_length": 30, "output_length": 5, "hash_ids": [1]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    assert main(["llm-la", "compare", "--trace", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:2:" in err and message in err and len(err.splitlines()) == 1


def test_presets_and_heterogeneous_clusters(tmp_path):
    from llm_la_lab.cluster import PRESETS, load_cluster
    from llm_la_lab.latency import profile_latency

    mixed = load_cluster("a100-80gb*2,h100-80gb*2", 4)
    assert mixed.label == "a100-80gb×2 + h100-80gb×2"
    a100, h100 = mixed.latencies[0], mixed.latencies[3]
    assert h100.iteration_s(4096, 0, 0) < a100.iteration_s(4096, 0, 0) / 2  # Vidur: H100 ≈ 3× at 4k tokens
    llama3 = PRESETS["llama3-8b-a100"].config
    trace = load_trace("mooncake")
    lengths = trace.prompt + trace.output
    assert llama3.context_limit == 131072 and (lengths > 131072).sum() == 10  # 10 of 3,993 exceed even 128k
    # GQA: a quarter of Llama-2-7b's KV bytes per token, so decode attention reads 4× less
    assert profile_latency("llama3-8b-a100").decode_attn_per_kv_token_s == pytest.approx(
        profile_latency("llama2-7b-a100").decode_attn_per_kv_token_s / 4, rel=0.01)
    assert len(load_cluster("constrained", 3)) == 3
    listed = tmp_path / "cluster.yaml"
    listed.write_text("- a100-80gb\n- {preset: h100-80gb, kv_blocks: 500}\n")
    two = load_cluster(str(listed), 2)
    assert two.configs[1].kv_blocks == 500 and two.latencies[1] == h100


@pytest.mark.parametrize("spec,instances,message", [
    ("a100-80gb*2,h100-80gb*2", 3, "--replica-config lists 4 replica configs but --instances is 3"),
    ("tpu-v9", 2, "unknown replica preset 'tpu-v9'"),
    ("a100-80gb*x", 2, "is not NAME or NAME*COUNT"),
])
def test_bad_cluster_specs_are_one_line(tmp_path, capsys, spec, instances, message):
    assert main(["llm-la", "compare", "--requests", "50", "--instances", str(instances), "--replica-config", spec,
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_cluster_yaml_list_of_the_wrong_length_names_the_file(tmp_path, capsys):
    listed = tmp_path / "cluster.yaml"
    listed.write_text("- a100-80gb\n- {preset: h100-80gb, kv_blockz: 5}\n")
    assert main(["llm-la", "compare", "--requests", "50", "--instances", "2", "--replica-config", str(listed),
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{listed}: entry 2" in err and "kv_blockz" in err and len(err.strip().splitlines()) == 1
