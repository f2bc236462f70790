"""Keep the lab's registries as the package defines them: a test that loads a plugin file
(``--plugin``) in this process must not leave it registered for the tests after it (the suite's
contract test picks a registered plugin as its template)."""

import pytest

from llm_la_lab.policies.base import POLICIES
from llm_la_lab.predictors.base import PREDICTORS


@pytest.fixture(autouse=True)
def _registries_restored():
    for registry in (POLICIES, PREDICTORS):
        registry.names()  # discover the package's own plugins first: they are what is restored
    saved = [(registry, dict(registry._items), set(registry._defaults)) for registry in (POLICIES, PREDICTORS)]
    yield
    for registry, items, defaults in saved:
        registry._items.clear()
        registry._items.update(items)
        registry._defaults.clear()
        registry._defaults.update(defaults)
