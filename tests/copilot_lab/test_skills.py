"""Skills change which agents are called: created, merged, retired; a planner within a budget."""

import json
from collections import Counter

import numpy as np
import pytest

from copilot_lab.agents.base import Finding
from copilot_lab.skills import Skill, SkillConfig, SkillLibrary, coverage
from sysai.cli import main

WEIGHTS = {"metric": 0.5, "log": 1.0, "trace": 1.5, "topology": 0.5}
COST = {"topology": 0.5, "metric": 2.0, "trace": 5.0, "log": 7.0}
ORDER = ["topology", "metric", "trace", "log"]


def findings(top: dict[str, int], n: int = 4) -> dict[str, Finding]:
    out = {}
    for agent, i in top.items():
        scores = np.full(n, 0.1)
        scores[i] = 1.0
        out[agent] = Finding(agent, scores, 1.0)
    return out


CPU = np.array([0.2, 0.1, 0.0, 0.9, 0.1, 0.0, 0.0, 0.3, 1.0, 1.0])
NET = np.array([0.9, 0.2, 0.0, 0.0, 0.0, 0.0, 0.6, 0.5, 1.0, 1.0])


def test_a_resolved_case_creates_a_skill_from_the_agents_that_were_right():
    lib = SkillLibrary()
    lib.learn(CPU, findings({"metric": 2, "trace": 2, "log": 0, "topology": 1}), 2, "cpu_hog", None, COST)
    assert lib.created == 1 and lib.skills[0].steps == ["metric", "trace"]  # right ones, cheapest first on ties
    lib.learn(CPU * 1.01, findings({"metric": 2, "trace": 0, "log": 0, "topology": 1}), 2, "cpu_hog", None, COST)
    assert lib.merged == 1 and lib.skills[0].cases == 2 and lib.skills[0].steps == ["metric", "trace"]
    lib.learn(NET, findings({"metric": 0, "trace": 3, "log": 0, "topology": 1}), 3, "network_delay", None, COST)
    assert lib.created == 2 and lib.skills[1].steps == ["trace"]  # a different trigger: a new skill


def test_the_planner_follows_the_skill_and_stops_at_confidence():
    lib = SkillLibrary()
    lib.learn(NET, findings({"trace": 3, "metric": 0}), 3, "network_delay", None, COST)
    case = findings({"topology": 1, "metric": 0, "trace": 3, "log": 3})
    plan = lib.plan(NET, case, ORDER, WEIGHTS, budget=4, dims={"latency", "traces"})
    assert plan.consulted == ["trace"] and int(np.argmax(plan.ranking)) == 3 and plan.skill == 0
    cold = SkillLibrary().plan(NET, case, ORDER, WEIGHTS, budget=1, dims={"latency"})
    assert cold.consulted == ORDER and cold.skill is None  # no experience: the whole jury


def test_budget_caps_the_calls_and_low_coverage_is_flagged():
    lib = SkillLibrary(SkillConfig(stop_confidence=0.999))
    lib.learn(CPU, findings({"metric": 2}), 2, "cpu_hog", None, COST)
    case = findings({"topology": 1, "metric": 2, "trace": 0, "log": 3})
    plan = lib.plan(CPU, case, ORDER, WEIGHTS, budget=2, dims={"cpu", "logs", "traces"})
    assert len(plan.consulted) == 2 and plan.consulted[0] == "metric"
    assert plan.coverage == pytest.approx(1 / 3) and plan.low_confidence
    assert coverage({"cpu", "logs"}, ["metric", "log"]) == 1.0


def test_a_skill_that_stops_helping_is_retired():
    lib = SkillLibrary(SkillConfig(retire_after=3, retire_below=0.5))
    lib.learn(CPU, findings({"metric": 2}), 2, "cpu_hog", None, COST)
    for _ in range(3):  # the skill says metric; the root is now elsewhere each time
        case = findings({"metric": 1, "topology": 0, "trace": 0, "log": 0})
        plan = lib.plan(CPU, case, ORDER, WEIGHTS, budget=1, dims=set())
        lib.learn(CPU, case, 3, "other", plan, COST)
    assert lib.retired == 1 and not lib.skills[0].active
    assert lib.retrieve(CPU) is None


def test_precision_reads_the_skills_majority_fault():
    lib = SkillLibrary()
    lib.skills.append(Skill(CPU, ["metric"], Counter(metric=3), 3, Counter(cpu_hog=2, disk_io=1)))
    assert lib.precision(CPU, "cpu_hog") == 1.0 and lib.precision(CPU, "disk_io") == 0.0
    assert lib.precision(-CPU, "cpu_hog") is None


def test_skills_command_measures_accuracy_and_cost(tmp_path, capsys):
    args = ["copilot", "skills", "--quick", "--cases", "10", "--warmup", "20", "--out", str(tmp_path), "--json"]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out)
    jury = r["methods"]["all_jurors"]
    planners = [v for k, v in r["methods"].items() if k.startswith("skills_budget_")]
    assert jury["agent_calls"] == 4 and planners
    assert all(p["agent_calls"] < jury["agent_calls"] for p in planners)  # skills change which agents are called
    assert all(v["created"] > 0 and v["merged"] > 0 for v in r["library"].values())
    assert (tmp_path / "accuracy_vs_cost.png").is_file()


def test_memory_experiment_reports_held_out_types_with_and_without_memory():
    from copilot_lab.experiments import memory_experiment

    r = memory_experiment(cases=14, warmup=14, system="shop", seed=3)
    names = [row["setting"] for row in r.settings]
    assert names == ["standard", "two concurrent roots (same fault)", "held-out fault types",
                     "noisy anomaly time (sd 60 s)"]
    held = r.settings[2]
    assert 0 < held["held_out_share"] < 0.5  # 2 of 7 types, round-robin
    for row in r.settings:
        for m in ("multi_agent", "multi_agent_memory", "multi_agent_skills", "skills_planner"):
            assert 0 <= row[m] <= 1


def test_corroboration_makes_the_planner_ask_a_second_juror():
    lib = SkillLibrary(SkillConfig(agree=2))
    lib.learn(NET, findings({"trace": 3, "metric": 3}), 3, "network_delay", None, COST)
    case = findings({"topology": 1, "metric": 3, "trace": 3, "log": 0})
    plan = lib.plan(NET, case, ORDER, WEIGHTS, budget=4, dims=set())
    assert plan.consulted == ["metric", "trace"]  # one confident juror is not enough; two agreeing are
    alone = SkillLibrary()
    alone.learn(NET, findings({"trace": 3, "metric": 3}), 3, "network_delay", None, COST)
    assert alone.plan(NET, case, ORDER, WEIGHTS, budget=4, dims=set()).consulted == ["metric"]
