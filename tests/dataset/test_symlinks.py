"""Local sources behind symbolic links: each file read once, loops skipped or refused, the walk bounded."""

from __future__ import annotations

import os

import pytest

from airflow_tuning.dataset import SourceError, local_sources
from tests.dataset.conftest import jsonl, many


@pytest.fixture
def looping_dir(tmp_path):
    """data/a.jsonl plus data/self -> ., data/again -> . and data/sub/up -> .. : loops in every direction."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.jsonl").write_text(jsonl(*many(2)))
    (data / "sub" / "b.jsonl").write_text(jsonl(*many(2, start=2)))
    os.symlink(".", data / "self")
    os.symlink(".", data / "again")
    os.symlink("..", data / "sub" / "up")
    return data


def names(sources) -> list[str]:
    return [s.name for s in sources]


def test_recursive_glob_through_directory_loops_reads_each_file_once(looping_dir, caplog):
    found = names(local_sources([f"{looping_dir}/**/*.jsonl"]))
    assert found == [f"{looping_dir}/a.jsonl", f"{looping_dir}/sub/b.jsonl"]
    assert "already read (a symbolic link loop" in caplog.text


def test_a_directory_with_loops_is_walked_once(looping_dir):
    assert names(local_sources([str(looping_dir)])) == [f"{looping_dir}/a.jsonl", f"{looping_dir}/sub/b.jsonl"]


def test_the_same_file_named_twice_is_read_once(looping_dir):
    os.symlink(looping_dir / "a.jsonl", looping_dir / "alias.jsonl")
    found = names(local_sources([str(looping_dir / "a.jsonl"), f"{looping_dir}/*.jsonl", str(looping_dir)]))
    assert found == [f"{looping_dir}/a.jsonl", f"{looping_dir}/sub/b.jsonl"]


def test_a_plain_glob_matches_only_the_levels_it_names(looping_dir):
    assert names(local_sources([f"{looping_dir}/*.jsonl"])) == [f"{looping_dir}/a.jsonl"]
    assert names(local_sources([f"{looping_dir}/*/b.jsonl"])) == [f"{looping_dir}/sub/b.jsonl"]


def test_a_relative_glob_keeps_relative_names(looping_dir, monkeypatch):
    monkeypatch.chdir(looping_dir)
    assert names(local_sources(["**/*.jsonl"])) == ["a.jsonl", "sub/b.jsonl"]


def test_a_file_symlink_loop_is_a_clear_source_error(tmp_path):
    (tmp_path / "good.jsonl").write_text(jsonl(*many(1)))
    os.symlink("loop2.jsonl", tmp_path / "loop1.jsonl")
    os.symlink("loop1.jsonl", tmp_path / "loop2.jsonl")
    with pytest.raises(SourceError, match=r"loop1\.jsonl: symbolic link loop"):
        local_sources([str(tmp_path)])


def test_the_walk_is_bounded(tmp_path, monkeypatch):
    from airflow_tuning.dataset import local_walk

    monkeypatch.setattr(local_walk, "MAX_ENTRIES", 5)
    for i in range(6):
        (tmp_path / f"f{i}.jsonl").write_text("")
    with pytest.raises(SourceError, match="more than 5 directory entries"):
        local_sources([f"{tmp_path}/**/*.jsonl"])


def test_the_operator_fails_without_retry_on_a_file_symlink_loop(airflow_db, gemini_conn, tmp_path):
    from tests.dags import dataset_upload

    os.symlink("loop2.jsonl", tmp_path / "loop1.jsonl")
    os.symlink("loop1.jsonl", tmp_path / "loop2.jsonl")
    run = dataset_upload.dag.test(run_conf={"sources": [str(tmp_path)], "destination": "gs://nowhere/datasets"})
    ti = run.get_task_instance("upload")
    assert run.state == "failed"
    assert str(ti.state) == "failed" and ti.try_number == 1  # retries=2, but the loop does not heal itself
