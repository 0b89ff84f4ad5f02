"""airflow-tuning and apache-airflow-providers-google install together with the pins in constraints.txt.

Deployments on Google Cloud already run the Google provider; our pins come from one resolve that includes
it. These resolver dry runs fail as soon as the two stop fitting (a pin the provider's tree rejects, or a
dependency the resolve needs that constraints.txt does not pin).
"""

from __future__ import annotations

import pytest

from tests.packaging.resolve import CONSTRAINTS, REPO, compile_with, pins

pytestmark = pytest.mark.registry

TOGETHER = [str(REPO), "apache-airflow-providers-google"]


def test_airflow_tuning_resolves_beside_google_provider(tmp_path):
    result = compile_with(TOGETHER, CONSTRAINTS, tmp_path)
    assert result.returncode == 0, f"airflow-tuning + providers-google do not fit constraints.txt:\n{result.stderr}"

    resolved = pins(result.stdout)
    pinned = pins(CONSTRAINTS.read_text())
    assert resolved["apache-airflow-providers-google"] == pinned["apache-airflow-providers-google"]
    assert resolved["apache-airflow"] == pinned["apache-airflow"]
    unpinned = sorted(set(resolved) - set(pinned))
    assert not unpinned, f"the resolve needs packages constraints.txt does not pin: {unpinned} (run `make constraints`)"


def test_the_check_fails_on_the_pin_that_used_to_break_the_google_provider(tmp_path):
    """importlib-metadata 10.2.0 (our former pin) is outside litellm's <9 cap under the Google provider."""
    assert "importlib-metadata" in pins(CONSTRAINTS.read_text())
    broken = tmp_path / "constraints-broken.txt"
    broken.write_text(
        "\n".join(
            "importlib-metadata==10.2.0" if line.lower().startswith(("importlib-metadata==", "importlib_metadata=="))
            else line
            for line in CONSTRAINTS.read_text().splitlines()
        )
        + "\nlazy-importer==0.1.0\n"
    )

    result = compile_with(TOGETHER, broken, tmp_path)

    assert result.returncode != 0, "a resolve with importlib-metadata==10.2.0 should not fit the Google provider"
    assert "importlib-metadata" in result.stderr
