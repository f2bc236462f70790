import pytest

from sysai.errors import UserError
from yuanrong_lab.autoscaler import Autoscaler, AutoscalerConfig


def _scaler(**kw):
    return Autoscaler(AutoscalerConfig(**kw))


@pytest.mark.task3_3
def test_scale_up_only_after_demand_lasts_the_up_window():
    s = _scaler(scale_up_window_s=1.0)
    assert s.decide(0.0, demand=4, current=1) == 1  # just arrived: wait
    assert s.decide(0.5, demand=4, current=1) == 1
    assert s.decide(1.0, demand=4, current=1) == 4  # held for 1 s


@pytest.mark.task3_3
def test_a_short_spike_does_not_scale_up():
    s = _scaler(scale_up_window_s=1.0)
    s.decide(0.0, 1, 1)
    s.decide(0.3, 6, 1)
    assert s.decide(1.2, 1, 1) == 1
    assert s.decide(1.4, 6, 1) == 1


@pytest.mark.task3_3
def test_target_concurrency_divides_demand():
    s = _scaler(target_concurrency=4.0, scale_up_window_s=1.0)
    s.decide(0.0, 10, 1)
    assert s.decide(1.0, 10, 1) == 3


@pytest.mark.task3_3
def test_scale_down_after_the_down_window_even_to_zero():
    s = _scaler(scale_down_window_s=60.0)
    assert s.decide(0.0, 0, 3) == 3
    assert s.decide(30.0, 0, 3) == 3
    assert s.decide(60.0, 0, 3) == 0  # scale to zero
    s2 = _scaler(scale_down_window_s=60.0, min_instances=1)
    s2.decide(0.0, 0, 3)
    assert s2.decide(61.0, 0, 3) == 1


@pytest.mark.task3_3
def test_down_window_uses_the_peak_and_max_caps():
    s = _scaler(scale_down_window_s=10.0, max_instances=5)
    s.decide(0.0, 2, 4)
    s.decide(5.0, 1, 4)
    assert s.decide(10.0, 0, 4) == 2  # the peak over the last 10 s was 2
    s.decide(11.0, 50, 2)
    assert s.decide(12.5, 50, 2) == 5  # capped at max_instances


@pytest.mark.task3_3
def test_burst_mode_skips_the_up_window():
    calm, burst = _scaler(), _scaler(burst=True, burst_factor=2.0)
    assert calm.decide(0.0, 8, 2) == 2
    assert burst.decide(0.0, 8, 2) == 8
    assert burst.decide(0.1, 3, 2) == 2  # 3 < 2 x 2: no burst, the up window applies


def test_config_rejects_windows_below_openyuanrong_floor():
    with pytest.raises(UserError, match="0.5"):
        AutoscalerConfig(scale_up_window_s=0.1)
