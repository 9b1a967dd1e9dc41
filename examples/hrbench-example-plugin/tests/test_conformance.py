"""The plugin's own conformance tests: hrbench's kit, one pytest case per check."""

import tempfile
from pathlib import Path

import pytest
from hrbench_example_plugin import ExampleFolder, ExampleGreen, write_example_dataset

from hrbench.testing import check_adapter, check_method, parametrize_with_checks

# Module level: parametrisation needs the data root when tests are collected.
DATA = write_example_dataset(
    Path(tempfile.mkdtemp(prefix="hrbench-example-")) / "data", {"a1": 64.0, "a2": 90.0, "b1": 75.0, "b2": 110.0}
)


@parametrize_with_checks([ExampleGreen, (ExampleFolder, DATA)])
def test_conformance(check):
    check()


def test_check_functions_report_every_check():
    assert all(r.status == "passed" for r in check_method(ExampleGreen) if r.check != "predict_pulse_shape")
    assert {r.check for r in check_adapter(ExampleFolder, DATA)} >= {"ids_unique_and_stable", "timestamps_contract"}


def test_missing_ground_truth_is_a_problem(tmp_path):
    root = write_example_dataset(tmp_path / "d", {"x": 70.0, "y": 80.0})
    (root / "y" / "bvp.csv").unlink()
    recs, problems = ExampleFolder().check(root)
    assert [r.id for r in recs] == ["x"] and problems[0].recording_id == "y"
    with pytest.raises(Exception, match="bvp.csv"):
        ExampleFolder().scan(root)
