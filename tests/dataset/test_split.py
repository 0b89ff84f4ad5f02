"""The train/validation split is decided by content, so it is stable as data grows, and the dataset hash
names the set of examples, not their order."""

from __future__ import annotations

import pytest

from airflow_tuning.dataset import Options, local_sources, prepare
from airflow_tuning.dataset.split import ValidationSelector, split_keys
from tests.dataset.conftest import jsonl, many, read_jsonl


def _prepare(tmp_path, write, name, examples, **options):
    out = tmp_path / f"out-{name}"
    out.mkdir()
    prepared = prepare(local_sources([write(f"{name}.jsonl", jsonl(*examples))]), str(out), Options(**options))
    train = read_jsonl(open(prepared.train.path, "rb").read())
    validation = read_jsonl(open(prepared.validation.path, "rb").read()) if prepared.validation else []
    key = lambda example: example["contents"][0]["parts"][0]["text"]  # noqa: E731
    return prepared, {key(e) for e in train}, {key(e) for e in validation}


def test_split_is_stable_when_data_is_appended_below_the_cap(tmp_path, write):
    base = many(300)
    first, train1, val1 = _prepare(tmp_path, write, "v1", base, validation_fraction=0.1, validation_max=256)
    second, train2, val2 = _prepare(tmp_path, write, "v2", base + many(700, start=300),
                                    validation_fraction=0.1, validation_max=256)
    assert 15 <= len(val1) <= 50 and len(val2) <= 256
    assert val1 <= val2 and train1 <= train2  # nothing moved sides
    assert len(train1) + len(val1) == 300 and len(train2) + len(val2) == 1000
    assert first.sha256 != second.sha256


def test_over_the_cap_training_examples_never_move_to_validation(tmp_path, write):
    base = many(400)
    _, train1, val1 = _prepare(tmp_path, write, "v1", base, validation_fraction=0.2, validation_max=50)
    _, train2, val2 = _prepare(tmp_path, write, "v2", base + many(600, start=400),
                               validation_fraction=0.2, validation_max=50)
    assert len(val1) == len(val2) == 50
    assert train1 <= train2  # a model tuned on v1 is never validated on its own training data
    assert val2 - val1, "new examples with smaller ranks took validation places"


def test_dataset_hash_ignores_order_and_source_layout_but_not_content(tmp_path, write):
    examples = many(50)
    a, _, _ = _prepare(tmp_path, write, "a", examples)
    b, _, _ = _prepare(tmp_path, write, "b", list(reversed(examples)) + examples[:5])  # reordered + duplicates
    c, _, _ = _prepare(tmp_path, write, "c", examples[:-1])
    d, _, _ = _prepare(tmp_path, write, "d", examples, validation_max=0)
    assert a.sha256 == b.sha256
    assert len({a.sha256, c.sha256, d.sha256}) == 3


def test_validation_never_takes_every_example(tmp_path, write):
    prepared, train, validation = _prepare(tmp_path, write, "tiny", many(3), validation_fraction=0.99)
    assert (len(train), len(validation), prepared.validation) == (3, 0, None)


def test_selector_keeps_the_smallest_ranks():
    keys = [bytes([i]) + bytes(15) for i in range(0, 256, 8)]  # ranks grow with the first byte
    train, validation = split_keys(keys, validation_fraction=0.5, validation_max=4)
    assert validation == set(keys[:4]) and train == set(keys[4:])
    with pytest.raises(ValueError):
        ValidationSelector(0.5, -1)


@pytest.mark.parametrize(("fraction", "cap", "count"), [(0.1, 256, 5_000), (0.5, 20, 300), (0.3, 0, 100),
                                                        (0.9, 50, 40), (0.999, 1_000, 3)])
def test_the_streaming_sink_chooses_what_the_selector_chooses(tmp_path, fraction, cap, count):
    import hashlib

    from airflow_tuning.dataset.split import SplitSink, ValidationSelector

    lines = [f'{{"n": {i}}}'.encode() for i in range(count)]
    keys = [hashlib.sha256(line).digest()[:16] for line in lines]
    selector = ValidationSelector(fraction, cap)
    with open(tmp_path / "train", "wb") as train, open(tmp_path / "side", "w+b") as side:
        sink = SplitSink(train, side, selector)
        for line, key in zip(lines, keys, strict=True):
            sink.add(line, key)
        sink.flush()
        kept = sink.kept()
    reference = ValidationSelector(fraction, cap)
    for key in keys:
        reference.offer(key)
    expected = reference.select(count)
    kept_keys = [key for key, _ in kept]
    assert (set(kept_keys) if len(kept) < count else set()) == expected
    assert kept_keys == [key for key in keys if key in set(kept_keys)]  # arrival order
    written = (tmp_path / "train").read_bytes().split(b"\n")[:-1]
    assert sorted(written + [line for _, line in kept]) == sorted(lines)  # every line exactly once
    assert sink.train_count == len(written) == count - len(kept)
