"""Lab 2 · LLM-LA, plugged into the `sysai` umbrella: the command group, the tour section, the registries."""

from __future__ import annotations

from sysai.catalog import Lab

from llm_la_lab.cli import app
from llm_la_lab.tour import tour

LAB = Lab(app=app, tour=tour, registries=("llm_la_lab.policies.base:POLICIES", "llm_la_lab.predictors.base:PREDICTORS"))
