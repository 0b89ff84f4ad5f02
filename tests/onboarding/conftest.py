"""Fixtures shared with the dataset tests."""

from tests.dataset.conftest import write  # noqa: F401 - the fixture
