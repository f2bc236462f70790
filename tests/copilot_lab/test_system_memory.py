"""System YAML loading and validation; the experience memory learns from resolved cases."""

import numpy as np
import pytest

from copilot_lab.agents.base import Finding
from copilot_lab.evaluate import collect, rank_of
from copilot_lab.memory import ExperienceMemory
from copilot_lab.system import load_system
from sysai.errors import UserError

GOOD = """name: tiny
entry: web
services:
  - {name: web, host: a, self_ms: 2, calls: {api: 1.0}}
  - {name: api, host: a, self_ms: 3, calls: {db: 0.5}}
  - {name: db, host: b, self_ms: 1}
"""


def test_shipped_systems_have_the_promised_sizes():
    assert load_system("shop").n == 11
    platform = load_system("platform")
    assert platform.n == 40 and platform.graph.upstream[:, platform.entry].sum() == 39  # the entry reaches all


def test_a_user_system_loads_from_yaml(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD)
    system = load_system(path)
    assert system.names == ["web", "api", "db"]
    assert system.visits.tolist() == [1.0, 1.0, 0.5]
    assert system.graph.colocated[0, 1] and not system.graph.colocated[0, 2]


@pytest.mark.parametrize(
    "change,message",
    [
        (("db: 0.5", "dbx: 0.5"), "calls unknown service 'dbx'"),
        (("- {name: db, host: b, self_ms: 1}", "- {name: db, host: b, self_ms: 1, calls: {web: 1.0}}"), "cycle"),
        (("entry: web", "entry: nowhere"), "entry 'nowhere'"),
        (("db: 0.5", "db: 1.5"), "must be in (0, 1]"),
        (("self_ms: 1}", "self_ms: 1, colour: red}"), "unknown key(s) 'colour'"),
    ],
)
def test_bad_system_files_name_the_problem(tmp_path, change, message):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(UserError, match="bad.yaml") as info:
        load_system(path)
    assert message in str(info.value)


def test_memory_learns_from_resolved_cases(shop):
    history = collect([shop], 35, 1, "dev")
    fresh = collect([shop], 14, 2, "dev")
    memory = ExperienceMemory()
    assert memory.judge(fresh[0].signature).strength == 0  # nothing learned yet
    for rec in history:
        memory.remember(rec.signature, rec.case.root_index, rec.case.fault, list(range(shop.n)))
    assert memory.cases == 35 and len(memory.vectors) == 35 * 5
    hits = [rank_of(memory.judge(r.signature).scores, r.case.root_index) == 0 for r in fresh]
    assert np.mean(hits) >= 0.5
    precision = [memory.retrieval_precision(r.signature[r.case.root_index], r.case.fault) for r in fresh]
    assert np.mean(precision) > 1 / 7  # better than guessing the fault type


def test_skills_trust_the_juror_that_was_right_on_this_fault_type():
    def case(root, right, wrong):  # `right` names the root, `wrong` names service 0
        return [Finding(right, np.eye(3)[root], 1.0), Finding(wrong, np.eye(3)[0], 1.0)]

    memory = ExperienceMemory(k=3)
    for i in range(6):
        kind = np.eye(2)[i % 2]  # two fault types with distinct signatures
        sig = np.stack([kind, kind + 5, kind + 9])
        right, wrong = ("trace", "log") if i % 2 == 0 else ("log", "trace")
        memory.remember(sig, 2, "network" if i % 2 == 0 else "code", [2, 1, 0], findings=case(2, right, wrong))
    assert memory.skills(prior=1.0)["network"]["trace"] > memory.skills(prior=1.0)["network"]["log"]
    weights = {"trace": 1.0, "log": 1.0}
    network_like, code_like = np.eye(2)[0] + 9, np.eye(2)[1] + 9
    assert memory.fault_type(network_like) == "network" and memory.fault_type(code_like) == "code"
    w = memory.skill_weights(weights, network_like, prior=1.0)
    assert w["trace"] > 1.0 > w["log"]
    w = memory.skill_weights(weights, code_like, prior=1.0)
    assert w["log"] > 1.0 > w["trace"]
    assert ExperienceMemory().skill_weights(weights, network_like) == weights  # nothing learned: unchanged
