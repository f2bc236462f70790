"""Two Ray nodes (ray.cluster_utils) on loopback: placement, and what a node death does.

Semantics shown here (and documented in docs/labs/yuanrong.md):
* a stateless call whose instance is lost is retried once by the runtime on a new instance
  (placed on a live node): at-least-once (the call may have run before the node died);
* a stateful instance is restarted once with its constructor arguments (its state is lost) and
  its in-flight call fails with a clear RayActorError: at-most-once.
"""

import time

import pytest

from yuanrong_lab import functions
from yuanrong_lab.config import FunctionConfig

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(150)]

FAST_FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 3,
}


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    from sysai.raycluster import keep_ray_on_loopback

    keep_ray_on_loopback()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {"head": 1},
            "include_dashboard": False,
            "_system_config": FAST_FAILURE_DETECTION,
        },
    )
    try:
        worker = cluster.add_node(num_cpus=1, resources={"edge": 1})
        cluster.wait_for_nodes()
        yield cluster, worker
    finally:
        cluster.shutdown()


def test_placement_and_node_death(cluster):
    import ray

    import yuanrong_lab.runtime as yr

    cluster, worker = cluster
    with yr.session(address=cluster.address) as rt:
        rt.register("edge-where", "yuanrong_lab.functions:where", FunctionConfig(resources={"edge": 0.1}))
        rt.register("head-where", "yuanrong_lab.functions:where", FunctionConfig(resources={"head": 0.1}))
        edge_node = rt.get(rt.invoke("edge-where", 0))
        head_node = rt.get(rt.invoke("head-where", 0))
        assert edge_node == worker.node_id and head_node != edge_node

        counter = yr.instance(functions.Counter, resources={"edge": 0.1}).invoke(10)
        assert yr.get(counter.add.invoke(5)) == 15

        in_flight_call = rt.invoke("edge-where", 3.0)  # running on the edge node when it dies
        in_flight_state = counter.slow_add.invoke(1, 3.0)
        time.sleep(1.0)
        cluster.remove_node(worker, allow_graceful=False)
        replacement = cluster.add_node(num_cpus=1, resources={"edge": 1})

        # stateless: the runtime retries the call once on a new instance, on the replacement node
        assert rt.get(in_flight_call) == replacement.node_id
        assert rt.functions["edge-where"].pool.cold_starts == 2
        # stateful: the in-flight call fails clearly; the restarted instance starts from scratch
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(in_flight_state, timeout=90)
        assert yr.get(counter.get.invoke(), timeout=90) == 10
        counter.terminate()
    assert not ray.is_initialized()
