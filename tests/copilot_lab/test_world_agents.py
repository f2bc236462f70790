"""The world propagates faults; each agent catches the case built for it; fusion corrects them."""

import numpy as np
import pytest

from copilot_lab.agents.base import AGENTS
from copilot_lab.anomaly import CaseView
from copilot_lab.coordinator import diagnose
from copilot_lab.faults.base import FAULTS
from copilot_lab.world import Injection, SimConfig, simulate

QUIET = SimConfig(decoy_rate=0.0)


def run(system, fault, root, severity=1.0, config=QUIET, seed=3):
    inj = Injection(fault, system.index[root], severity, 120, FAULTS.get(fault)().effect(severity))
    tel = simulate(system, inj, config, seed)
    return tel, CaseView(tel, system.graph, float(tel.time[120]))


def kind(tel, name):
    return tel.kinds.index(name)


def test_latency_propagates_to_callers_and_errors_bubble_up(shop):
    tel, view = run(shop, "cpu_hog", "redis")
    z = view.metric_z()
    lat = kind(tel, "latency")
    assert z[shop.index["redis"], lat] > 5
    assert z[shop.index["cart"], lat] > 3  # cart calls redis
    assert abs(z[shop.index["payment"], lat]) < 3  # unrelated (other host, not a caller)
    assert z[shop.index["ads"], lat] > 2  # co-located with redis: a noisy neighbour
    tel, view = run(shop, "code_exception", "payment")
    err = kind(tel, "error")
    before = tel.metrics[:110, :, err].mean(axis=0)
    after = tel.metrics[125:, :, err].mean(axis=0)
    assert after[shop.index["checkout"]] > 5 * before[shop.index["checkout"]]  # errors bubble to the caller
    assert after[shop.index["frontend"]] > 1.5 * before[shop.index["frontend"]]  # and on to the entry


def test_network_delay_leaves_the_roots_own_latency_alone(shop):
    tel, view = run(shop, "network_delay", "email", severity=1.5)
    z = view.metric_z()
    lat = kind(tel, "latency")
    assert abs(z[shop.index["email"], lat]) < 3  # a leaf: its server-side latency does not move
    assert z[shop.index["checkout"], lat] > 3  # its caller waits on the wire


def test_unknown_fault_is_a_user_error():
    from sysai.errors import UserError

    with pytest.raises(UserError, match="unknown fault type"):
        FAULTS.get("meteor_strike")


@pytest.mark.parametrize(
    "agent,fault,root",
    [
        ("metric", "memory_leak", "cart"),
        ("log", "code_exception", "catalog"),
        ("trace", "disk_io", "currency"),
        ("trace", "network_delay", "payment"),
        ("topology", "config_error", "redis"),
    ],
)
def test_each_agent_catches_the_case_built_for_it(shop, agent, fault, root):
    tel, view = run(shop, fault, root)
    finding = AGENTS.get(agent)().rank(view)
    assert shop.names[finding.ranking()[0]] == root, finding.evidence
    assert finding.strength > 0.3 and finding.ranking()[0] in finding.evidence


def test_single_agents_have_blind_spots(shop):
    tel, view = run(shop, "code_exception", "catalog")
    assert shop.names[AGENTS.get("trace")().rank(view).ranking()[0]] != "catalog"  # errors are not latency
    tel, view = run(shop, "network_delay", "email", severity=1.5)
    assert shop.names[AGENTS.get("metric")().rank(view).ranking()[0]] != "email"  # the caller looks worse


def test_missing_modality_gives_an_empty_finding(shop):
    tel, view = run(shop, "cpu_hog", "ads")
    for agent, drop in [("log", "logs"), ("trace", "traces"), ("metric", "metrics"), ("topology", "metrics")]:
        finding = AGENTS.get(agent)().rank(CaseView(tel.without(drop), shop.graph, view.anomaly_time))
        assert finding.strength == 0 and not finding.scores.any()


def test_coordinator_explains_and_finds_a_network_fault(shop):
    tel, view = run(shop, "network_delay", "email", severity=1.5)
    findings = [AGENTS.create(a).rank(view) for a in AGENTS.defaults()]
    result = diagnose(findings, shop.names, shop.graph)
    assert result.ranking[0] == "email"
    text = "\n".join(result.explanation)
    assert "trace: ranks it #1" in text and "call path: frontend → checkout → email" in text
    assert result.to_dict()["root_cause"] == "email"


def test_same_seed_same_telemetry(shop):
    a, _ = run(shop, "packet_loss", "cart", seed=11)
    b, _ = run(shop, "packet_loss", "cart", seed=11)
    c, _ = run(shop, "packet_loss", "cart", seed=12)
    assert np.array_equal(a.metrics, b.metrics) and a.logs.message == b.logs.message
    assert np.array_equal(a.traces.duration_ms, b.traces.duration_ms)
    assert not np.array_equal(a.metrics, c.metrics)


@pytest.mark.parametrize("name", AGENTS.names())
def test_every_agent_plugin_honours_the_contract(shop, name):
    """Built by the registry (seed and config keywords), any agent returns one non-negative score
    per service and a strength in [0, 1] — with all modalities and with none but metrics."""
    tel, view = run(shop, "cpu_hog", "cart")
    for v in (view, CaseView(tel.without("logs").without("traces"), None, view.anomaly_time)):
        finding = AGENTS.create(name, seed=1).rank(v)
        assert finding.scores.shape == (shop.n,) and (finding.scores >= 0).all()
        assert 0 <= finding.strength <= 1 and finding.agent == name


@pytest.mark.parametrize("name", FAULTS.names())
def test_every_fault_plugin_gives_an_effect_that_moves_something(name):
    from copilot_lab.faults.base import Effect

    effect = FAULTS.create(name, seed=1).effect(1.0)
    assert isinstance(effect, Effect) and effect != Effect()


def test_two_concurrent_roots_both_break(shop):
    from copilot_lab.cases import make_case

    one, tel1 = make_case(shop, 5, "eval", 2)
    two, tel2 = make_case(shop, 5, "eval", 2, roots=2)
    assert (one.root_index, one.severity, one.onset_time) == (two.root_index, two.severity, two.onset_time)
    assert len(two.roots) == 2 and two.also[0] != two.root_index
    view = CaseView(tel2, shop.graph, two.onset_time)
    z = np.abs(view.metric_z())
    quiet = CaseView(tel1, shop.graph, one.onset_time)
    second = two.also[0]
    assert z[second].max() > np.abs(quiet.metric_z())[second].max()  # the second root moves only with two
