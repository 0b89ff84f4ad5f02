"""The trigger's progress log: Vertex sub-states and epoch/step progress, when the API reports them."""

from __future__ import annotations

from airflow_tuning.triggers.tuning import TuningJobTrigger

FAST = {"poll_interval": 0.05, "max_poll_interval": 0.1}


async def test_progress_is_logged_for_a_detailed_job(gemini_conn, submit, test_id, capsys):
    job = submit(duration_ms=1500, labels={"lifecycle-test": test_id, "emulator-job-states": "detailed"},
                 epoch_count=3)
    event = await TuningJobTrigger(job.name, **FAST).run().asend(None)
    assert event.payload["status"] == "success"
    log = capsys.readouterr().out
    # The final answer always carries the finished counts (5 examples: one step per epoch).
    assert f"Tuning job {job.name}: epoch 3/3, step 3" in log
    lines = [line for line in log.splitlines() if f"Tuning job {job.name}: " in line and "epoch" in line]
    epochs = [int(line.split("epoch ")[1].split("/")[0]) for line in lines]
    assert epochs == sorted(epochs)  # progress only grows


async def test_no_progress_line_for_the_default_timeline(gemini_conn, submit, test_id, capsys):
    job = submit(duration_ms=600, labels={"lifecycle-test": test_id})
    event = await TuningJobTrigger(job.name, **FAST).run().asend(None)
    assert event.payload["status"] == "success"
    log = capsys.readouterr().out
    assert f"Tuning job {job.name}: RUNNING -> SUCCEEDED" in log
    assert "epoch" not in log and "TUNING_JOB_STATE" not in log
