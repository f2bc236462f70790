"""Lab 3 entry point: the `sysai yuanrong` commands and the tour section."""

from sysai.catalog import Lab
from yuanrong_lab.cli import app
from yuanrong_lab.tour import tour

LAB = Lab(app=app, tour=tour, registries=("yuanrong_lab.keepalive.base:POLICIES",))
