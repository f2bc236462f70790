"""Lab 4 entry point: the `sysai copilot` commands and the tour's headline comparison."""

from __future__ import annotations

from copilot_lab.cli import app
from sysai.catalog import Lab


def tour(ctx):
    from copilot_lab.tour import evaluation_section

    return evaluation_section(ctx.out, ctx.seed, ctx.quick)


LAB = Lab(app=app, tour=tour, registries=("copilot_lab.agents.base:AGENTS", "copilot_lab.faults.base:FAULTS"))
