"""sysai: the shared core of the sysai-labs tutorial companion.

Everything the four labs share lives here and nowhere else: the `sysai` command, the results
folder, the plot style, tables, seeding, timing, config dataclasses, plugin registries and the
graded-task machinery. Nothing in this package knows about any single lab; labs plug in through
the ``sysai.labs`` entry-point group (see :mod:`sysai.catalog`).
"""

__version__ = "0.1.0"
