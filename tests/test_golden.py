"""Every golden run reproduces its recorded summary and trace datasets exactly.

A failure here means a change moved a simulated number. If that was deliberate, re-record
the affected cases (`python tests/golden_runs.py --record CASE ...`) in a commit that says
why; otherwise it is a regression.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden_runs import golden_cases, load_golden, run_case

GOLDEN = load_golden()
CASES = golden_cases()


def test_every_case_is_recorded() -> None:
    assert sorted(GOLDEN) == sorted(case.name for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden_run_is_reproduced_exactly(case, tmp_path: Path) -> None:
    expected = GOLDEN[case.name]
    got = run_case(case, tmp_path)
    changed = sorted(
        key
        for key in set(expected["summary"]) | set(got["summary"])
        if expected["summary"].get(key) != got["summary"].get(key)
    )
    assert not changed, f"summary keys changed: {changed}"
    assert got["trace"] == expected["trace"]
