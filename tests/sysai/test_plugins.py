"""A plugin is one file, in every lab: a file dropped into a registry's package appears in
`sysai plugins`, in the registry's defaults when it asks to be, and in the help of every command
that lists that registry's default names — with no other edit. Shown for each registry of each lab.

The file is "dropped" into the package without touching the checkout: a subprocess appends a
temporary folder to the package's ``__path__`` before anything looks the registry up."""

import json
import subprocess
import sys

import pytest

from sysai.catalog import discover
from sysai.registry import resolve

REGISTRIES = [(s.info.name, path) for s in discover() if s.lab is not None for path in s.lab.registries]

PROBE = r"""
import importlib, io, json, sys, contextlib
import typer
lab, path, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
module, _, attr = path.partition(":")
registry = getattr(importlib.import_module(module), attr)
package = importlib.import_module(registry.package)
package.__path__.extend(extra)
from sysai.catalog import discover
from sysai.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["plugins", lab])
status = next(s for s in discover(only={lab}) if s.info.name == lab)
group = typer.main.get_command(status.lab.app)
helps = {}
for name, command in sorted(group.commands.items()):
    with typer.Context(command, info_name=name) as ctx:
        helps[name] = command.get_help(ctx)
print(json.dumps({"code": code, "plugins": out.getvalue(), "names": registry.names(),
                  "defaults": registry.defaults(), "helps": helps}))
"""


def _probe(lab, path, extra):
    env_columns = {"COLUMNS": "400", "TERM": "dumb"}
    import os

    done = subprocess.run([sys.executable, "-c", PROBE, lab, path, *extra], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env_columns})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(240)
@pytest.mark.parametrize("lab, path", REGISTRIES, ids=[p for _, p in REGISTRIES])
def test_a_dropped_in_plugin_file_appears_everywhere(lab, path, tmp_path):
    registry = resolve(path)
    # a plugin of the package itself (other tests may have loaded students' files into this process)
    template = next(cls for _, cls in registry.items() if cls.__module__.startswith(f"{registry.package}."))
    (tmp_path / "zz_contract_copy.py").write_text(
        '"""Contract-copy plugin."""\n'
        f"from {path.split(':')[0]} import {path.split(':')[1]} as REGISTRY\n"
        f"from {template.__module__} import {template.__qualname__} as Template\n\n\n"
        f'@REGISTRY.register("zz_contract_copy", default=True)\n'
        f"class ContractCopy(Template):\n    pass\n")
    before = _probe(lab, path, [])
    after = _probe(lab, path, [str(tmp_path)])
    assert after["code"] == 0
    assert "zz_contract_copy" not in before["names"] and "zz_contract_copy" in after["names"]
    assert "zz_contract_copy" in after["defaults"]
    row = next(line for line in after["plugins"].splitlines() if "zz_contract_copy" in line)
    assert "yes" in row and "Contract-copy" in after["plugins"]
    listing = [cmd for cmd, text in before["helps"].items()
               if before["defaults"] and all(name in text for name in before["defaults"])]
    for command in listing:
        assert "zz_contract_copy" in after["helps"][command], f"`sysai {lab} {command} --help` lists defaults by hand"
