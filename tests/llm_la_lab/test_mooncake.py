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
    ({"timestamp": 0, "input_length": 30, "output_length": 5, "hash_ids": [1, "x"]}, "hash_ids must be a list of integers"),
    ({"timestamp": 0, "input_length": 30, "output_length": 5, "hash_ids": 7}, "hash_ids must be a list of integers"),
])
def test_bad_rows_name_file_and_line_and_exit_2(tmp_path, capsys, row, message):
    path = tmp_path / "bad.jsonl"
    good = {"timestamp": 0, "input_length": 30, "output_length": 5, "hash_ids": [1]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    assert main(["llm-la", "compare", "--trace", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path}:2:" in err and message in err and len(err.splitlines()) == 1
