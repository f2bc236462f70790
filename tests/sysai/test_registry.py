import sys

import pytest

from sysai.errors import UserError
from sysai.registry import Registry


def test_register_and_get():
    reg = Registry("widget")

    @reg.register("a")
    class A:
        pass

    assert reg.get("a") is A
    assert reg.names() == ["a"]
    assert "a" in reg and "b" not in reg


def test_unknown_name_lists_choices():
    reg = Registry("routing policy")
    reg.register("round_robin")(object)
    with pytest.raises(UserError, match=r"unknown routing policy 'rr' \(choose from: round_robin\)"):
        reg.get("rr")


def test_duplicate_names_are_rejected():
    reg = Registry("widget")
    reg.register("a")(int)
    with pytest.raises(ValueError, match="twice"):
        reg.register("a")(str)


def test_plugin_package_is_discovered_on_first_lookup(tmp_path, monkeypatch):
    pkg = tmp_path / "demo_plugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (tmp_path / "demo_registry.py").write_text(
        "from sysai.registry import Registry\nREG = Registry('thing', package='demo_plugins')\n"
    )
    (pkg / "one.py").write_text("from demo_registry import REG\n@REG.register('one')\nclass One: pass\n")
    (pkg / "_private.py").write_text("raise RuntimeError('not a plugin')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import demo_registry

        assert demo_registry.REG.names() == ["one"]
    finally:
        for name in ["demo_registry", "demo_plugins", "demo_plugins.one"]:
            sys.modules.pop(name, None)


def test_load_file(tmp_path):
    reg = Registry("agent")
    sys.modules["reg_under_test"] = type(sys)("reg_under_test")
    sys.modules["reg_under_test"].REG = reg
    plugin = tmp_path / "my_agent.py"
    plugin.write_text("from reg_under_test import REG\n@REG.register('mine')\nclass Mine: pass\n")
    try:
        reg.load_file(plugin)
        assert reg.get("mine").__name__ == "Mine"
        with pytest.raises(UserError, match="not found"):
            reg.load_file(tmp_path / "nope.py")
    finally:
        sys.modules.pop("reg_under_test", None)


def _knobbed_registry():
    from dataclasses import dataclass

    from sysai.config import option

    reg = Registry("widget")

    @reg.register("plain")
    class Plain:
        """A widget without knobs."""

        def __init__(self, seed=0, config=None):
            self.seed, self.config = seed, config

    @reg.register("knobbed", default=True)
    class Knobbed(Plain):
        """A widget with one knob."""

        @dataclass
        class Config:
            depth: int = option(4, "how deep")

    return reg


def test_defaults_create_and_describe():
    reg = _knobbed_registry()
    assert reg.defaults() == ["knobbed"] and reg.names() == ["knobbed", "plain"]
    made = reg.create("knobbed", seed=7, options={"depth": 9})
    assert made.seed == 7 and made.config.depth == 9
    assert reg.create("knobbed").config.depth == 4, "no options: the Config's defaults"
    assert reg.create("plain", seed=3).config is None
    with pytest.raises(UserError, match=r"options of widget 'knobbed': unknown key\(s\) 'width'"):
        reg.create("knobbed", options={"width": 1})
    with pytest.raises(UserError, match="widget 'plain' has no options"):
        reg.create("plain", options={"depth": 1})
    with pytest.raises(UserError, match="expected a whole number"):
        reg.create("knobbed", options={"depth": "deep"})
    rows = {info.name: info for info in reg.describe()}
    assert rows["knobbed"].default and not rows["plain"].default
    assert rows["knobbed"].summary == "A widget with one knob."
    assert rows["knobbed"].options == [("depth", "4", "how deep")]
    assert rows["plain"].summary == "A widget without knobs.", "a subclass must not inherit its parent's summary"


def test_plugin_file_errors_are_one_line(tmp_path):
    from sysai.registry import load_plugin_file

    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with pytest.raises(UserError, match=r"broken.py:1: plugin has a syntax error"):
        load_plugin_file(broken)
    missing = tmp_path / "needs.py"
    missing.write_text("import no_such_module_anywhere\n")
    with pytest.raises(UserError, match="cannot import no_such_module_anywhere"):
        load_plugin_file(missing)
    # a sheet's "copy this file, rename the class" step, half done: the file's own error, with its line
    renamed = tmp_path / "kv_first.py"
    renamed.write_text("class KvFirst:\n    pass\n\n\nclass Approx(WeightedScorer):\n    pass\n")
    with pytest.raises(UserError, match=r"kv_first.py:5: plugin failed to load: NameError: .*WeightedScorer"):
        load_plugin_file(renamed)
