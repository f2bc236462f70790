import pytest

from yuanrong_lab.scheduler import Slot, global_choice, local_choice, two_level

SLOTS = [Slot(0, "n0", True), Slot(1, "n1", True), Slot(2, "n2", True), Slot(3, "n1", True)]


@pytest.mark.task3_5
def test_local_prefers_the_node_holding_the_arguments():
    assert local_choice({"n1": 100_000_000}, "n0", SLOTS) == 1  # smallest free id on n1
    assert local_choice({"n1": 10, "n2": 5_000}, "n0", SLOTS) == 2  # most bytes wins


@pytest.mark.task3_5
def test_local_falls_back_to_the_callers_node_then_hands_up():
    busy_n1 = [Slot(0, "n0", True), Slot(1, "n1", False), Slot(3, "n1", False), Slot(2, "n2", True)]
    assert local_choice({"n1": 100}, "n0", busy_n1) == 0  # data node full: the caller's node
    assert local_choice({"n1": 100}, "n2", busy_n1) == 2
    full_local = [Slot(0, "n0", False), Slot(1, "n1", False), Slot(2, "n2", True)]
    assert local_choice({"n1": 100}, "n0", full_local) is None  # neither node: the global scheduler
    assert two_level({"n1": 100}, "n0", full_local) == (2, "global")


@pytest.mark.task3_5
def test_local_edge_cases_ties_and_no_arguments():
    assert local_choice({}, "n2", SLOTS) == 2  # no arguments: the caller's node
    assert local_choice({"n1": 0}, "n2", SLOTS) == 2  # zero bytes are not data
    assert local_choice({"n1": 7, "n2": 7}, "n0", SLOTS) == 1  # tie: by node name
    assert local_choice({"n1": 7, "n2": 7}, "n2", SLOTS) == 2  # tie: the caller's node first
    assert local_choice({"n9": 7}, "n0", SLOTS) == 0  # data on a node without instances


def test_global_spreads_and_queues_when_all_are_busy():
    assert global_choice(SLOTS) == 1  # n1 has two free instances
    assert global_choice([Slot(0, "n0", False)]) is None
    assert two_level({"n0": 1}, "n0", [Slot(0, "n0", False)]) == (None, "queued")
