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
