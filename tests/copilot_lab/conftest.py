import pytest

from copilot_lab.system import load_system


@pytest.fixture(scope="session")
def shop():
    return load_system("shop")
