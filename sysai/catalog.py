"""The four labs, and how a lab plugs into the umbrella.

The umbrella knows each lab only by its catalog line (number, name, talk). The lab itself
provides a :class:`Lab` object through the ``sysai.labs`` entry-point group in pyproject.toml:
its own Typer command group and, optionally, its headline comparison for ``sysai tour``.
A lab whose module cannot be imported yet is listed as "not built yet".
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

import typer

if TYPE_CHECKING:
    from sysai.tour import TourContext, TourSection

ENTRY_POINT_GROUP = "sysai.labs"


@dataclass(frozen=True)
class LabInfo:
    number: int
    name: str
    package: str
    system: str
    talk: str
    shows: str


CATALOG: tuple[LabInfo, ...] = (
    LabInfo(
        1, "trio", "trio_lab", "TrIO",
        "TrIO / FlacIO (FAST'25, openEuler): flattened, cooperative container-image I/O",
        "layered vs lazy vs TrIO runtime image, served over a real FUSE mount from an HTTP registry",
    ),
    LabInfo(
        2, "llm-la", "llm_la_lab", "LLM-LA",
        "LLM-LA: load-aware balancing for multi-instance LLM serving",
        "SimPy continuous-batching replicas behind a router; the same policies in a live aiohttp proxy",
    ),
    LabInfo(
        3, "yuanrong", "yuanrong_lab", "openYuanrong",
        "openYuanrong (SIGCOMM'24 Yuanrong): serverless distributed compute engine",
        "serverless functions on Ray: cold/warm starts, keep-alive, autoscaling, by-reference data",
    ),
    LabInfo(
        4, "copilot", "copilot_lab", "EulerCopilot",
        "EulerCopilot (openEuler): multi-agent fault diagnosis",
        "fault injection into a simulated service system; cooperating RCA agents with memory",
    ),
)


@dataclass
class Lab:
    """What a lab hands the umbrella (as ``LAB`` in ``<package>/lab.py``).

    `app` is the lab's command group (``sysai <name> ...``). `tour` runs the headline comparison
    at a small scale and returns a :class:`sysai.tour.TourSection`. Keep the module that defines
    ``LAB`` light: import heavy dependencies (Ray, SimPy, FUSE) inside the commands.
    """

    app: typer.Typer
    tour: Optional[Callable[["TourContext"], "TourSection"]] = None
    #: The lab's plugin registries as ``"module:ATTR"`` paths (imported only by `sysai plugins`).
    registries: tuple[str, ...] = ()


@dataclass
class LabStatus:
    info: LabInfo
    lab: Optional[Lab]
    problem: Optional[str] = None

    @property
    def built(self) -> bool:
        return self.lab is not None

    @property
    def status(self) -> str:
        if self.lab is not None:
            return "built"
        return self.problem or "not built yet"


def discover(only: Optional[set[str]] = None) -> list[LabStatus]:
    """Each catalog lab with its loaded :class:`Lab`, or why it is not available. Labs not in
    `only` (when given) are listed but not imported (``lab`` None, ``problem`` "not loaded")."""
    points = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    statuses = []
    for info in CATALOG:
        if only is not None and info.name not in only:
            statuses.append(LabStatus(info, None, "not loaded"))
            continue
        point = points.get(info.name)
        if point is None or not _package_exists(info.package):
            statuses.append(LabStatus(info, None))
            continue
        try:
            lab = point.load()
        except Exception as exc:  # a lab that fails to import must not take the umbrella down
            statuses.append(LabStatus(info, None, f"broken: {type(exc).__name__}: {exc}"))
            continue
        statuses.append(LabStatus(info, lab))
    return statuses


def _package_exists(package: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(f"{package}.lab") is not None
    except ModuleNotFoundError:
        return False
