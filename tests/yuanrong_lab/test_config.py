import pytest

from sysai.config import from_mapping
from sysai.errors import UserError
from yuanrong_lab.config import FunctionConfig


@pytest.mark.parametrize("bad", [{"max_instances": 0}, {"queue_timeout_s": 0}, {"concurrency": 0}, {"timeout_s": -1}])
def test_a_function_config_that_could_never_run_a_call_is_refused(bad):
    with pytest.raises(UserError, match="function config"):
        FunctionConfig(**bad)


def test_keepalive_config_nests_policy_and_its_options():
    cfg = from_mapping(FunctionConfig, {"keepalive": {"policy": "fixed", "options": {"ttl_s": 5}}}, "config")
    assert cfg.keepalive.policy == "fixed" and cfg.keepalive.options == {"ttl_s": 5}
    with pytest.raises(UserError, match="unknown keep-alive policy 'lru'"):
        from_mapping(FunctionConfig, {"keepalive": {"policy": "lru"}}, "config")
