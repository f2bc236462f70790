"""openYuanrong's basic documentation examples, written the way its docs write them
(``yr.init()`` … ``yr.finalize()`` in the example itself), run on a real local Ray cluster.

The cluster is started once for the module; ``yr.init()`` joins it and ``yr.finalize()`` stops
only what the runtime started, so each example still begins and ends as in the docs."""

import numpy as np
import pytest

import yuanrong_lab.runtime as yr  # openYuanrong: import yr
from sysai.errors import UserError

pytestmark = [pytest.mark.ray, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", autouse=True)
def ray_once():
    from sysai.raycluster import ray_cluster

    with ray_cluster(num_cpus=2):
        yield


@pytest.fixture(autouse=True)
def finalized():
    yield
    yr.finalize()  # also when an example fails halfway


# a stateless function, as in the docs' first example
@yr.invoke
def say_hello(name):
    return "hello, " + name


# a stateful function: a class whose instance keeps its state between calls
@yr.instance
class Counter:
    def __init__(self, init):
        self.count = init

    def add(self, n=1):
        self.count += n
        return self.count

    def get(self):
        return self.count


@yr.invoke
def total(data):
    return int(np.asarray(data).sum())


def test_stateless_function():
    yr.init()
    results_ref = [say_hello.invoke("yuanrong") for _ in range(3)]
    assert yr.get(results_ref) == ["hello, yuanrong"] * 3
    yr.finalize()


def test_stateful_counter():
    yr.init()
    counter = Counter.invoke(10)
    refs = [counter.add.invoke(i) for i in range(1, 4)]  # submitted without waiting: run in order
    assert yr.get(refs) == [11, 13, 16]
    assert yr.get(counter.get.invoke()) == 16
    counter.terminate()
    yr.finalize()


def test_put_get_and_wait():
    yr.init()
    data = np.arange(1_000_000)
    data_ref = yr.put(data)  # stored once in the object store
    sums = [total.invoke(data_ref) for _ in range(4)]  # every call reads it by reference
    ready, not_ready = yr.wait(sums, wait_num=4, timeout=60)
    assert len(ready) == 4 and not not_ready
    assert yr.get(sums) == [int(data.sum())] * 4
    assert np.array_equal(yr.get(data_ref), data)
    yr.finalize()


def test_invoke_options_size_the_instances():
    import ray

    yr.init()
    big = say_hello.options(yr.InvokeOptions(cpu=1000, memory=64))
    assert yr.get(big.invoke("big")) == "hello, big"
    fn = yr.current().functions[big.name]
    assert fn.config.num_cpus == 1.0 and fn.config.memory_mb == 64.0
    counter = Counter.options(yr.InvokeOptions(cpu=500)).invoke(0)
    assert yr.get(counter.add.invoke()) == 1
    used = ray.available_resources().get("CPU", 0.0)
    assert used <= 2.0 - 1.0 - 0.5 + 1e-6  # both reservations are held right now
    counter.terminate()
    yr.finalize()


def test_named_instance_is_found_again():
    yr.init()
    Counter.options(yr.InvokeOptions(name="shared-counter")).invoke(100)
    again = yr.get_instance("shared-counter")
    assert yr.get(again.add.invoke(5)) == 105
    with pytest.raises(UserError, match="already exists"):
        Counter.options(yr.InvokeOptions(name="shared-counter")).invoke(0)
    again.terminate()
    with pytest.raises(UserError, match="no instance named"):
        yr.get_instance("shared-counter")
    yr.finalize()


def test_kv_write_read_delete():
    yr.init()
    yr.kv_write("model-version", b"v1")
    assert yr.kv_read("model-version") == b"v1"
    yr.kv_write("model-version", b"v2")
    assert yr.kv_read("model-version") == b"v2"
    yr.kv_del("model-version")
    with pytest.raises(KeyError):
        yr.kv_read("model-version")
    yr.finalize()


def test_cancel_a_call_that_has_not_started():
    import ray

    yr.init()
    counter = Counter.invoke(0)
    slow = yr.instance(_Slow).invoke()
    first = slow.wait.invoke(2.0)
    queued = slow.wait.invoke(0.0)  # behind `first` in the instance's queue
    yr.cancel(queued)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        yr.get(queued, timeout=60)
    assert yr.get(first) == 2.0 and yr.get(counter.add.invoke()) == 1
    yr.finalize()


class _Slow:
    def wait(self, seconds):
        import time

        time.sleep(seconds)
        return seconds


def test_finalize_stops_what_init_started_and_init_twice_is_an_error():
    import ray

    runtime = yr.init()
    counter = Counter.invoke(1)
    with pytest.raises(UserError, match="already called"):
        yr.init()
    yr.finalize()
    assert runtime.functions == {} and ray.is_initialized()  # the module's Ray is its owner's
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(counter._actor.ping.remote(), timeout=30)
    with pytest.raises(UserError, match="call yr.init"):
        say_hello.invoke("x")
