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
