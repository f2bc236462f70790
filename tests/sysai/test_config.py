from dataclasses import dataclass, field
from typing import Optional

import pytest

from sysai.config import describe, from_mapping, load_yaml, option, replace
from sysai.errors import UserError


@dataclass
class Inner:
    rate: float = option(1.0, "requests per second")


@dataclass
class Outer:
    name: str = option("x", "a name")
    size: int = option(4, "how many")
    flag: bool = option(False, "a switch")
    tags: list = option([], "labels")
    inner: Inner = field(default_factory=Inner, metadata={"help": "nested"})
    limit: Optional[float] = option(None, "optional cap")


def test_defaults_and_values():
    cfg = from_mapping(Outer, {"size": 8, "inner": {"rate": 2}})
    assert cfg.size == 8 and cfg.inner.rate == 2.0 and cfg.name == "x"


def test_mutable_defaults_are_not_shared():
    a, b = Outer(), Outer()
    a.tags.append("t")
    assert b.tags == []


def test_unknown_key_is_an_error_naming_it_and_the_known_ones():
    with pytest.raises(UserError, match=r"cfg.yaml: unknown key\(s\) 'sise'.*known: name, size"):
        from_mapping(Outer, {"sise": 3}, where="cfg.yaml")


def test_nested_unknown_key_says_where():
    with pytest.raises(UserError, match="inner.*unknown key"):
        from_mapping(Outer, {"inner": {"rat": 1}})


@pytest.mark.parametrize("key,value", [("size", "8"), ("size", 1.5), ("flag", "yes"), ("name", 3), ("size", True)])
def test_wrong_types_are_errors(key, value):
    with pytest.raises(UserError, match=key):
        from_mapping(Outer, {key: value})


def test_number_fields_accept_yaml_exponent_text(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  rate: 1e9\n")
    assert load_yaml(Outer, path).inner.rate == 1e9
    with pytest.raises(UserError, match="expected a number"):
        from_mapping(Outer, {"inner": {"rate": "fast"}})


def test_optional_accepts_none_and_numbers():
    assert from_mapping(Outer, {"limit": None}).limit is None
    assert from_mapping(Outer, {"limit": 3}).limit == 3.0


def test_load_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("size: 16\ninner:\n  rate: 0.5\n")
    assert load_yaml(Outer, path).size == 16
    path.write_text("size: [1,\n")
    with pytest.raises(UserError, match=r"c.yaml:\d+: not valid YAML"):
        load_yaml(Outer, path)
    with pytest.raises(UserError, match="not found"):
        load_yaml(Outer, tmp_path / "missing.yaml")


def test_replace_checks_keys():
    cfg = replace(Outer(), size=2)
    assert cfg.size == 2
    with pytest.raises(UserError):
        replace(Outer(), nope=1)


def test_describe_has_help_text():
    rows = {name: (default, text) for name, default, text in describe(Outer)}
    assert rows["size"] == ("4", "how many")
