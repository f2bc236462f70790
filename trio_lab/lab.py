"""Lab 1 · TrIO, plugged into `sysai`: the command group, the tour section, the plugin registries."""

from __future__ import annotations

from sysai.catalog import Lab
from trio_lab.cli import app
from trio_lab.tour import tour

LAB = Lab(app=app, tour=tour, registries=("trio_lab.loaders.base:LOADERS", "trio_lab.evictions.base:EVICTIONS"))
