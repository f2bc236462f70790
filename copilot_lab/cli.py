"""`sysai copilot ...`: evaluate, robustness, inject, diagnose, mock-llm.

Heavy imports (matplotlib, aiohttp) happen inside the commands so `sysai --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sysai.errors import UserError
from copilot_lab.agents.base import AGENTS
from copilot_lab.faults.base import FAULTS
from sysai.options import DEFAULT_SEED, Json, Out, Plugin, Quick, Seed, load_plugins

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="EulerCopilot: multi-agent root-cause analysis over simulated metrics, logs and traces.",
)

QUICK_CASES = 70
# Help texts come from the registries, so a dropped-in agent or fault file shows up by itself.
AGENT_HELP = f"Juror to run (repeatable) [default: {', '.join(AGENTS.defaults())}; all: {', '.join(AGENTS.names())}]."
Agent = Annotated[Optional[list[str]], typer.Option("--agent", help=AGENT_HELP, show_default=False)]


def _jurors(names: Optional[list[str]], plugins) -> Optional[list[str]]:
    load_plugins(plugins)
    for name in names or ():
        AGENTS.get(name)  # a UserError naming the choices
    return list(names) if names else None


def _check_positive(name: str, value: float) -> None:
    if value <= 0:
        raise UserError(f"--{name} must be positive, got {value}")


def _check_threshold(value: float) -> None:
    if not 0 < value <= 1:
        raise UserError(f"--threshold must be in (0, 1], got {value}")


Systems = Annotated[str, typer.Option("--system", help="shop, platform, both, or a system YAML file.")]


@app.command()
def evaluate(
    cases: Annotated[
        str,
        typer.Option(
            "--cases",
            help="Simulated cases to generate (≥ 200 for the report), or a folder of RCAEval-layout cases to score.",
        ),
    ] = "210",
    system: Systems = "both",
    split: Annotated[str, typer.Option("--split", help="eval (report) or dev (tuning).")] = "eval",
    warmup: Annotated[int, typer.Option("--warmup", help="Dev cases the memory resolved beforehand.")] = 100,
    threshold: Annotated[float, typer.Option("--threshold", help="Abstain below this confidence.")] = 0.7,
    graph: Annotated[
        bool, typer.Option("--graph/--no-graph", help="With a folder: use each case's call graph.")
    ] = True,
    agent: Agent = None,
    plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """AC@1, AC@3, Avg@5 and ms per case: random, each agent, the coordinator (± memory) on simulated cases;
    or each agent, the coordinator, RCAEval's BARO and n-sigma on a folder of cases (--cases DIR)."""
    names = _jurors(agent, plugin)
    text = cases.strip()
    if not text.isdigit():
        from copilot_lab.experiments import folder_evaluation
        from copilot_lab.report import show_folder
        from sysai.results import finish, prepare_out

        results = folder_evaluation(Path(text), graph, names)
        finish(results, prepare_out("copilot", "evaluate", out), json, lambda: show_folder(results))
        return
    if names:
        raise UserError(
            "--agent works with --cases DIR; the simulated evaluation runs every default juror "
            "(its memory's signatures are built from them)"
        )
    n = int(text)
    _check_positive("cases", n)
    _check_threshold(threshold)
    if warmup < 0:
        raise UserError(f"--warmup must be ≥ 0, got {warmup}")
    if quick:
        n, warmup = min(n, QUICK_CASES), min(warmup, 30)
    from copilot_lab.experiments import evaluation
    from copilot_lab.report import evaluation_files, show_evaluation
    from sysai.results import finish, prepare_out

    folder = prepare_out("copilot", "evaluate", out)
    results, records, raw = evaluation(n, system, split, warmup, threshold, seed)
    evaluation_files(results, records, raw, folder)
    finish(results, folder, json, lambda: show_evaluation(results))


@app.command()
def robustness(
    cases: Annotated[int, typer.Option("--cases", help="Cases per setting.")] = 70,
    system: Annotated[str, typer.Option("--system", help="shop, platform, both, or a YAML file.")] = "shop",
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Coordinator vs single agents under more noise, a missing modality, and a shifted anomaly time."""
    from copilot_lab.experiments import robustness as run
    from copilot_lab.report import robustness_files, show_robustness
    from sysai.results import finish, prepare_out

    _check_positive("cases", cases)
    folder = prepare_out("copilot", "robustness", out)
    results = run(min(cases, 28) if quick else cases, system, seed, quick)
    robustness_files(results, folder)
    finish(results, folder, json, lambda: show_robustness(results))


@app.command()
def inject(
    fault: Annotated[
        str, typer.Option("--fault", help=f"Fault type: {', '.join(FAULTS.names())} (`--fault list`).")
    ] = FAULTS.defaults()[0],
    root: Annotated[
        Optional[str], typer.Option("--root", help="Service to break [default: drawn from the seed].")
    ] = None,
    system: Annotated[str, typer.Option("--system", help="shop, platform, or a system YAML file.")] = "shop",
    severity: Annotated[float, typer.Option("--severity", help="Fault strength (≈0.5–1.5).")] = 1.0,
    plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Generate one case and write metrics.csv, logs.csv, traces.csv, topology.yaml and case.json."""
    from copilot_lab.experiments import inject as run
    from copilot_lab.report import show_inject
    from sysai.results import finish, prepare_out

    load_plugins(plugin)
    _check_positive("severity", severity)
    if fault == "list":
        raise UserError(f"fault types: {', '.join(FAULTS.names())}")
    folder = prepare_out("copilot", "inject", out)
    results = run(fault, root, system, severity, seed, folder)
    finish(results, folder, json, lambda: show_inject(results))


@app.command()
def diagnose(
    metrics: Annotated[Path, typer.Option("--metrics", help="Metrics CSV: `time` + `<service>_<metric>` columns.")],
    anomaly_time: Annotated[
        float, typer.Option("--anomaly-time", help="When the anomaly was detected (same unit as `time`).")
    ],
    logs: Annotated[
        Optional[Path], typer.Option("--logs", help="Logs CSV: time, service (or container_name), message.")
    ] = None,
    traces: Annotated[Optional[Path], typer.Option("--traces", help="Traces CSV (see the docs for columns).")] = None,
    topology: Annotated[
        Optional[Path],
        typer.Option(
            "--topology",
            help="The call graph: the lab's system YAML, or JSON/YAML "
            "with services, calls [[caller, callee]], entry, causal_edges.",
        ),
    ] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="Abstain below this confidence.")] = 0.7,
    llm_url: Annotated[
        Optional[str], typer.Option("--llm-url", help="OpenAI-compatible endpoint for the optional LLM juror.")
    ] = None,
    llm_model: Annotated[str, typer.Option("--llm-model", help="Model name for --llm-url.")] = "gpt-4o-mini",
    agent: Agent = None,
    plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Ranked root causes with confidence and explanation, from files in the RCAEval layout."""
    from copilot_lab.experiments import diagnosis
    from copilot_lab.report import show_diagnosis
    from sysai.results import finish, prepare_out

    _check_threshold(threshold)
    names = _jurors(agent, plugin)
    report = diagnosis(metrics, logs, traces, topology, anomaly_time, threshold, llm_url, llm_model, names)
    finish(report, prepare_out("copilot", "diagnose", out), json, lambda: show_diagnosis(report))


@app.command()
def bench(seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False) -> None:
    """Agents, coordinator, RCAEval's BARO and n-sigma side by side on own and foreign (PyRCA) eval cases."""
    from copilot_lab.bench import QUICK, BenchConfig, run_bench
    from copilot_lab.report import show_bench
    from sysai.results import finish, prepare_out

    results = run_bench(QUICK if quick else BenchConfig(), seed)
    finish(results, prepare_out("copilot", "bench", out), json, lambda: show_bench(results))


@app.command()
def skills(
    cases: Annotated[int, typer.Option("--cases", min=1, help="Eval cases diagnosed online.")] = 140,
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, help="Dev cases the skill library learns from first.")
    ] = 300,
    system: Systems = "both",
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Skills (trigger, ordered evidence steps, stop at confidence 0.7) vs the all-jurors jury: accuracy and cost."""
    from copilot_lab.experiments import skills_experiment
    from copilot_lab.report import show_skills, skills_files
    from sysai.results import finish, prepare_out

    if quick:
        cases, warmup, system = min(cases, 28), min(warmup, 60), "shop"
    folder = prepare_out("copilot", "skills", out)
    results = skills_experiment(cases, system, warmup, seed)
    skills_files(results, folder)
    finish(results, folder, json, lambda: show_skills(results))


@app.command()
def memory(
    cases: Annotated[int, typer.Option("--cases", min=1, help="Eval cases per setting.")] = 140,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Dev cases remembered first.")] = 100,
    system: Systems = "both",
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Where memory can matter: held-out fault types, noisy anomaly times; AC@1 with and without memory and skills."""
    from copilot_lab.experiments import memory_experiment
    from copilot_lab.report import show_memory
    from sysai.results import finish, prepare_out

    if quick:
        cases, warmup, system = min(cases, 28), min(warmup, 42), "shop"
    results = memory_experiment(cases, warmup, system, seed)
    finish(results, prepare_out("copilot", "memory", out), json, lambda: show_memory(results))


@app.command()
def foreign(
    cases: Annotated[int, typer.Option("--cases", min=1, help="How many PyRCA cases to write.")] = 30,
    split: Annotated[str, typer.Option("--split", help="dev (tuning) or eval (report) seed stream.")] = "dev",
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    json: Json = False,
) -> None:
    """Write PyRCA-simulator cases (level shift, variance change, dependency weight) in the RCAEval layout."""
    from copilot_lab.cases import SPLITS
    from copilot_lab.foreign import write_foreign_cases
    from sysai.results import finish, prepare_out

    if split not in SPLITS:
        raise UserError(f"unknown split {split!r} (choose from: {', '.join(SPLITS)})")
    folder = prepare_out("copilot", "foreign", out)
    paths = write_foreign_cases(folder, cases, seed, split)
    results = {
        "cases": len(paths),
        "folder": str(folder),
        "split": split,
        "seed": seed,
        "next": f"sysai copilot evaluate --cases {folder}",
    }
    finish(results, folder, json, lambda: print(f"{len(paths)} PyRCA cases in {folder}/; next: {results['next']}"))


@app.command("mock-llm")
def mock_llm(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0 = any free port).")] = 8089,
) -> None:
    """Serve the local mock OpenAI-compatible endpoint (for `diagnose --llm-url`) until Ctrl-C."""
    from copilot_lab.llm_mock import make_app
    from sysai.http import run_until_interrupted

    if not 0 <= port < 65536:
        raise UserError(f"--port must be in 0..65535, got {port}")
    run_until_interrupted(make_app(), port=port)
