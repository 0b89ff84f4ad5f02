"""The example DAGs' fixtures (their bucket, fast polling) for the lineage tests."""

from tests.examples.conftest import bucket  # noqa: F401 - a fixture, used by name
