import pytest

from tests.yuanrong_lab.promtext import parse
from yuanrong_lab.metrics import Metrics


def test_prometheus_text_has_counters_cumulative_buckets_and_gauges():
    m = Metrics()
    m.inc("invocations_total", "echo")
    m.inc("invocations_total", "echo")
    m.observe("echo", 0.0004)
    m.observe("echo", 0.3)
    text = m.render({"instances": {"echo": 2}})
    assert 'yuanrong_invocations_total{function="echo"} 2' in text
    assert 'yuanrong_invoke_latency_seconds_bucket{function="echo",le="0.0005"} 1' in text
    assert 'yuanrong_invoke_latency_seconds_bucket{function="echo",le="0.25"} 1' in text
    assert 'yuanrong_invoke_latency_seconds_bucket{function="echo",le="+Inf"} 2' in text
    assert 'yuanrong_invoke_latency_seconds_count{function="echo"} 2' in text
    assert "# TYPE yuanrong_instances gauge" in text and 'yuanrong_instances{function="echo"} 2' in text


def test_cold_start_parts_are_a_summary():
    m = Metrics()
    m.cold_start("f", {"actor_start_ms": 900.0, "import_ms": 80.0})
    m.cold_start("f", {"actor_start_ms": 1100.0})
    text = m.render({})
    assert 'yuanrong_cold_start_part_seconds_sum{function="f",part="actor_start"} 2' in text
    assert 'yuanrong_cold_start_part_seconds_count{function="f",part="actor_start"} 2' in text
    assert 'yuanrong_cold_start_part_seconds_count{function="f",part="import"} 1' in text


def test_the_exposition_is_valid_prometheus_text_even_for_awkward_names():
    m = Metrics()
    for name in ("echo", 'say "hi"\\now', "mod.fn.<locals>.f"):
        m.inc("invocations_total", name)
        m.observe(name, 0.003)
        m.observe(name, 42.0)
    m.cold_start("echo", {"actor_start_ms": 900.0, "total_ms": 1000.0})
    families = parse(m.render({"instances": {"echo": 1, 'say "hi"\\now': 0}}))
    assert {f: i["type"] for f, i in families.items()} == {
        "yuanrong_invocations_total": "counter",
        "yuanrong_invoke_latency_seconds": "histogram",
        "yuanrong_cold_start_part_seconds": "summary",
        "yuanrong_instances": "gauge",
    }
    labels = {s[1]["function"] for s in families["yuanrong_invocations_total"]["samples"]}
    assert labels == {"echo", 'say \\"hi\\"\\\\now', "mod.fn.<locals>.f"}  # escaped, one series each


def test_the_reader_catches_broken_exposition():
    with pytest.raises(AssertionError, match="before"):
        parse('yuanrong_x{function="a"} 1\n')
    with pytest.raises(AssertionError, match="not a sample"):
        parse('# TYPE yuanrong_x counter\nyuanrong_x{function="a"b"} 1\n')
    with pytest.raises(AssertionError, match="cumulative"):
        parse('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n')
