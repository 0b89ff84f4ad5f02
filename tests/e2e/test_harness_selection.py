"""The harness's own rules, without a stack: which topology a drill runs on, and the drill table's shape."""

from __future__ import annotations

import pytest

from tests.e2e.harness.report import DrillRecord, format_table
from tests.e2e.harness.topology import topologies_for


@pytest.mark.parametrize(
    ("marks", "setting", "expected"),
    [
        (set(), None, ["local"]),
        (set(), "", ["local"]),
        (set(), "distributed", ["distributed"]),
        (set(), "both", ["local", "distributed"]),
        (set(), " Both ", ["local", "distributed"]),
        ({"distributed"}, None, ["distributed"]),
        ({"distributed"}, "local", ["distributed"]),
        ({"local_only"}, "distributed", ["local"]),
        ({"local_only"}, "both", ["local"]),
    ],
)
def test_topology_choice(marks, setting, expected):
    assert topologies_for(marks, setting) == expected


def test_unknown_topology_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="E2E_TOPOLOGY='kubernetes'.*both.*distributed.*local"):
        topologies_for(set(), "kubernetes")


def test_drill_table_has_one_row_per_drill_and_topology():
    records = [
        DrillRecord("1 wait", "t1", topology="local", result="passed", jobs_created=1, duration_s=12.0),
        DrillRecord("1 wait", "t2", topology="distributed", result="failed", jobs_created=None, duration_s=3.5),
        DrillRecord("10 failover", "t3", topology="distributed", result="passed", jobs_created=20, duration_s=99.0),
    ]
    records[2].note(adoption_s=6.1)
    table = format_table(records, {"distributed": {"ready": 60.0}}).splitlines()
    assert table[0].split() == ["drill", "topology", "result", "jobs", "created", "duration"]
    rows = [line.split() for line in table[2:5]]
    assert [r[-5:] for r in rows] == [
        ["local", "passed", "1", "12.0", "s"],
        ["distributed", "failed", "-", "3.5", "s"],
        ["distributed", "passed", "20", "99.0", "s"],
    ]
    assert "  10 failover [distributed]: adoption_s=6.1" in table
    assert "  distributed stack start-up: ready 60.0s" in table
