"""The detailed job timeline as a function of time, and the progress line the wait loops log for it."""

from __future__ import annotations

import pytest

from airflow_tuning.emulator import timeline
from airflow_tuning.emulator.lifecycle import Lifecycle
from airflow_tuning.jobs import states as js
from airflow_tuning.jobs.progress import progress_line, vertex_progress

JOB = {"detailed": True, "epochs": 4, "createTime": 100.0, "startTime": 102.0, "endTime": 112.0,
       "error": None, "cancelTime": None}


def test_states_and_sub_states_follow_the_clock():
    seen = []
    for tenth in range(0, 125):
        now = 100.0 + tenth / 10
        state = Lifecycle.state(JOB, now)
        seen.append((state, timeline.progress(JOB, state, now, examples=16).get("tuningJobState")))
    order = list(dict.fromkeys(seen))
    assert order == [
        (js.QUEUED, timeline.WAITING_FOR_QUOTA),
        (js.PENDING, None),
        (js.RUNNING, timeline.PROCESSING_DATASET),
        (js.RUNNING, timeline.TUNING),
        (js.RUNNING, timeline.POST_PROCESSING),
        (js.SUCCEEDED, None),
    ]


def test_epoch_and_step_progress_only_grow_and_end_complete():
    counts = []
    for tenth in range(20, 125):
        now = 100.0 + tenth / 10
        metadata = timeline.progress(JOB, Lifecycle.state(JOB, now), now, examples=16).get("tuningJobMetadata")
        if metadata:
            counts.append((int(metadata["completedEpochCount"]), int(metadata["completedStepCount"])))
    assert counts == sorted(counts)
    assert counts[-1] == (4, 8)  # 16 examples in batches of 8: 2 steps per epoch


def test_the_simple_timeline_reports_nothing_extra():
    simple = {**JOB, "detailed": False}
    assert Lifecycle.state(simple, 100.5) == js.PENDING
    assert timeline.progress(simple, js.RUNNING, 105.0, examples=16) == {}


def test_progress_line_reads_the_sdk_job():
    from google.genai import types

    job = types.TuningJob(
        name="projects/p/locations/l/tuningJobs/1",
        tuning_job_state=types.TuningJobState.TUNING_JOB_STATE_TUNING,
        tuning_job_metadata=types.TuningJobMetadata(completed_epoch_count=2, completed_step_count=40),
        supervised_tuning_spec=types.SupervisedTuningSpec(
            hyper_parameters=types.SupervisedHyperParameters(epoch_count=3)),
    )
    assert vertex_progress(job) == "TUNING, epoch 2/3, step 40"
    assert progress_line(job) == "Tuning job projects/p/locations/l/tuningJobs/1: TUNING, epoch 2/3, step 40"
    assert progress_line(types.TuningJob(name="x")) == ""


def test_the_emulator_wide_switch_and_the_per_job_label(dataset_uri):
    from google.genai import types

    from airflow_tuning.common.connection import ConnectionSettings
    from airflow_tuning.emulator import Emulator
    from airflow_tuning.emulator.__main__ import parse_args
    from airflow_tuning.hooks.tuning import build_genai_client

    assert parse_args(["--detailed-job-states"]).detailed_job_states is True
    assert parse_args([]).detailed_job_states is False
    with Emulator(job_duration=5.0, detailed_job_states=True) as emu:
        upload_to(emu, dataset_uri)
        client = build_genai_client(ConnectionSettings.from_extras("timeline", emu.connection_extra()))

        def tune(**labels: str) -> str:
            job = client.tunings.tune(base_model="gemini-2.5-flash",
                                      training_dataset=types.TuningDataset(gcs_uri=dataset_uri),
                                      config=types.CreateTuningJobConfig(labels=labels or None))
            return job.state.value

        assert tune() == js.QUEUED
        assert tune(**{"emulator-job-states": "simple"}) == js.PENDING
        assert emu.configure(detailed_job_states=False)["detailed_job_states"] is False
        assert tune() == js.PENDING
        assert tune(**{"emulator-job-states": "detailed"}) == js.QUEUED


def upload_to(emu, uri: str) -> None:
    from tests.emulator.helpers import jsonl

    bucket, _, path = uri[5:].partition("/")
    emu.create_bucket(bucket).blob(path).upload_from_string(jsonl(range(4)))


@pytest.fixture
def dataset_uri() -> str:
    return "gs://timeline-switch/train.jsonl"
