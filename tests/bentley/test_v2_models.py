"""Reality Modeling v2 wire models: the job of the API reference, specifications, messages.

The job below is the Reconstruction example of Bentley's v2 reference (jobs-create), with the
outputs the service fills in.
"""

from __future__ import annotations

import msgspec
import pytest

from hoverbentley.bentley.v2_models import JobResponse, Message
from hoverbentley.bentley.v2_specs import (
    MODELING_TYPES,
    ReconstructionSpecifications,
    check_creation,
)
from hoverbentley.errors import ConfigurationError

RECONSTRUCTION = b"""{"job":{"id":"796715aa-0000-4000-8000-000000000001","state":"Active",
 "userId":"911edf8b-0000-4000-8000-000000000002",
 "executionInfo":{"createdDateTime":"2025-03-10T11:30:00Z"},
 "specifications":{"inputs":{"scene":"7e8bd05b-0000-4000-8000-000000000003"},
   "outputs":{"modelingReference":{"location":"1aee1cb3-0000-4000-8000-000000000004"},
              "exports":[{"location":"9d9da8fa-0000-4000-8000-000000000005","format":"3DTiles"},
                         {"location":"8359a84c-0000-4000-8000-000000000006","format":"OBJ"}]},
   "futureSection":{"kept":true}},
 "name":"My first Reality Modeling job","type":"Reconstruction",
 "iTwinId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","someFutureField":1}}"""


def test_a_reconstruction_job_decodes_with_typed_specifications_and_output_ids() -> None:
    job = msgspec.json.decode(RECONSTRUCTION, type=JobResponse).job
    assert (job.type, job.state, job.i_twin_id) == (
        "Reconstruction",
        "Active",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    )
    assert job.execution_info is not None and job.execution_info.created is not None
    assert job.execution_info.created.isoformat() == "2025-03-10T11:30:00+00:00"
    assert job.specifications["futureSection"] == {"kept": True}  # unknown parts kept
    typed = job.typed_specifications()
    assert isinstance(typed, ReconstructionSpecifications)
    assert typed.inputs.scene == "7e8bd05b-0000-4000-8000-000000000003"
    assert typed.outputs.exports is not None
    assert [e.format for e in typed.outputs.exports] == ["3DTiles", "OBJ"]
    assert job.output_ids() == {
        "modelingReference": "1aee1cb3-0000-4000-8000-000000000004",
        "exports/3DTiles": "9d9da8fa-0000-4000-8000-000000000005",
        "exports/OBJ": "8359a84c-0000-4000-8000-000000000006",
    }
    assert not job.done


def test_a_future_job_type_decodes_and_has_no_typed_specifications() -> None:
    body = RECONSTRUCTION.replace(b'"Reconstruction"', b'"HologramSynthesis"')
    job = msgspec.json.decode(body, type=JobResponse).job
    assert job.type == "HologramSynthesis" and job.typed_specifications() is None


def test_every_modeling_type_of_the_reference_is_known() -> None:
    assert set(MODELING_TYPES) == {
        "FillImageProperties",
        "ImportPointCloud",
        "Calibration",
        "Tiling",
        "Production",
        "Reconstruction",
        "GaussianSplats",
        "Constraints",
        "WaterConstraints",
        "TouchUpExport",
        "TouchUpImport",
    }


def test_a_job_to_create_is_checked_locally_with_the_field_named() -> None:
    good = {
        "inputs": {"scene": "7e8bd05b-0000-4000-8000-000000000003"},
        "outputs": {"modelingReference": True, "exports": [{"format": "3DTiles"}]},
    }
    check_creation("Reconstruction", good)
    typo = {**good, "outputs": {"exports": [{"format": "OBJ", "optoins": {}}]}}
    with pytest.raises(
        ConfigurationError, match=r"unknown field \$\.outputs\.exports\[0\]\.optoins"
    ):
        check_creation("Reconstruction", typo)
    with pytest.raises(ConfigurationError, match=r"Calibration specifications: .*scene"):
        check_creation("Calibration", {"inputs": {}, "outputs": ["scene"]})
    with pytest.raises(ConfigurationError, match="unknown Reality Modeling job type 'Full'"):
        check_creation("Full", good)
    objects = {"inputs": {"photos": "df091f39-377c-48fb-a9c9-9fd0998e151a"}, "outputs": ["x"]}
    with pytest.raises(ConfigurationError, match="Reality Modeling job type 'Objects2D'"):
        check_creation("Objects2D", objects)
    check_creation("Objects2D", objects, api="analysis")
    check_creation("ClearanceCalculation", objects, api="analysis")


def test_message_placeholders_are_filled_from_params() -> None:
    message = Message(
        code="InputData_Invalid", message="Input %1 is invalid: %2", params=["scene", "empty"]
    )
    assert message.text == "Input scene is invalid: empty"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("ab", "3 to 256 characters"),
        ("x" * 257, "3 to 256"),
        ("a/b c", "'/'"),
        ("bad\tname", "must not contain"),
    ],
)
def test_a_v2_job_name_is_checked_locally(name: str, words: str) -> None:
    specs = {"inputs": {"scene": "7e8bd05b-0000-4000-8000-000000000003"}, "outputs": ["scene"]}
    with pytest.raises(ConfigurationError, match=words):
        check_creation("Calibration", specs, name=name)
    check_creation("Calibration", specs, name="Bridge survey, spring")
