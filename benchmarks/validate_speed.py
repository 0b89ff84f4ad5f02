"""Validation throughput of the dataset checker on one core (target: >= 200 MB/s).

Generates a realistic Vertex Gemini SFT JSONL file (multi-turn chats, system instructions, some non-ASCII
text, a few file and function-call parts), then times ``airflow_tuning.dataset.validate`` over it: decode,
every rule, canonical re-encoding and duplicate detection. Baseline: ``json.loads`` of every line alone.
The same bytes are then validated again as files of about 1 MB (``validate_throughput_1mb_files``, no target:
what a run of many small files pays per file, next to the single file's figure as its baseline).
Throughput is measured in CPU time of the process (one core), best of ``--repeat`` runs, so other work on
the machine skews it as little as possible. The baseline is ``json.loads`` timed the same way.

    python -m benchmarks.validate_speed [--size-mb 200]

Prints JSON lines {"name", "value", "unit", "target", "baseline"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time

WORDS = (
    "the model should answer briefly and cite the invoice number when the customer asks about a refund "
    "pipeline tuning dataset example validation gemini vertex airflow schedule retry bucket object "
    "résumé naïve café 東京 データ 검증 привет"
).split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def example(rng: random.Random, index: int) -> dict:
    """One realistic chat example; ``index`` makes every example unique."""
    turns = []
    for turn in range(rng.choice((1, 1, 2, 3))):
        user_parts: list[dict] = [{"text": f"#{index}.{turn} " + _text(rng, rng.randint(20, 120))}]
        if rng.random() < 0.05:
            user_parts.insert(0, {"fileData": {"mimeType": "image/jpeg", "fileUri": f"gs://media/img/{index}.jpg"}})
        turns.append({"role": "user", "parts": user_parts})
        if rng.random() < 0.05:
            turns.append({"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"id": index}}}]})
            turns.append({"role": "user", "parts": [
                {"functionResponse": {"name": "lookup", "response": {"status": "ok", "amount": index % 97}}}]})
        turns.append({"role": "model", "parts": [{"text": _text(rng, rng.randint(10, 80))}]})
    record: dict = {"contents": turns}
    if rng.random() < 0.5:
        record["systemInstruction"] = {"role": "system", "parts": [{"text": _text(rng, 25)}]}
    return record


def generate(path: str, size_bytes: int, seed: int = 0) -> int:
    """Write at least ``size_bytes`` of JSONL to ``path``; return the number of lines."""
    rng = random.Random(seed)
    written = lines = 0
    with open(path, "wb", buffering=1 << 20) as out:
        batch: list[bytes] = []
        while written < size_bytes:
            line = json.dumps(example(rng, lines), ensure_ascii=False).encode() + b"\n"
            batch.append(line)
            written += len(line)
            lines += 1
            if len(batch) >= 1000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    return lines


def emit(name: str, value: float, unit: str, target: str | None, baseline: float | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 2), "unit": unit, "target": target,
                      "baseline": None if baseline is None else round(baseline, 2)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200.0, help="size of the generated file (MB)")
    parser.add_argument("--file", help="validate this file instead of generating one")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the fastest counts (default 3)")
    args = parser.parse_args(argv)
    from airflow_tuning.dataset import local_sources, validate

    with tempfile.TemporaryDirectory(prefix="validate-speed-") as tmp:
        path = args.file or os.path.join(tmp, "data.jsonl")
        if not args.file:
            generate(path, int(args.size_mb * 1e6))
        size = os.path.getsize(path)
        with open(path, "rb") as fh:  # warm the page cache so both timings read from memory
            while fh.read(1 << 24):
                pass
        # CPU time of this process (one core), best of --repeat runs: other work sharing the machine can only
        # slow a run down, so the fastest run is the closest to the code's own speed.
        baseline = elapsed = wall = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            with open(path, "rb") as fh:
                for line in fh:
                    json.loads(line)
            baseline = min(baseline, time.process_time() - started)
            started, wall_started = time.process_time(), time.perf_counter()
            report = validate(local_sources([path]))
            elapsed = min(elapsed, time.process_time() - started)
            wall = min(wall, time.perf_counter() - wall_started)
            if report.invalid:
                raise SystemExit(f"generated data should be valid:\n{report.render()}")
        emit("validate_throughput", size / elapsed / 1e6, "MB/s (CPU time, one core)", ">= 200", size / baseline / 1e6)
        emit("validate_throughput_wall", size / wall / 1e6, "MB/s (wall clock)", None, None)
        emit("validate_lines_per_second", report.records / elapsed, "lines/s", None, None)
        # The same bytes as files of about 1 MB (an export's part-NNNNN files): what a run pays per file.
        parts = split_into_files(path, os.path.join(tmp, "parts"), 1 << 20)
        many = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            validate(local_sources(parts))
            many = min(many, time.process_time() - started)
        emit("validate_throughput_1mb_files", size / many / 1e6, f"MB/s (CPU time, one core, {len(parts)} files)",
             None, size / elapsed / 1e6)
    return 0


def split_into_files(path: str, folder: str, part_bytes: int) -> list[str]:
    """Write ``path``'s lines into files of about ``part_bytes`` each under ``folder``; return their paths."""
    os.makedirs(folder, exist_ok=True)
    parts: list[str] = []
    with open(path, "rb") as source:
        while chunk := source.readlines(part_bytes):
            parts.append(os.path.join(folder, f"part-{len(parts):05}.jsonl"))
            with open(parts[-1], "wb") as out:
                out.writelines(chunk)
    return parts


if __name__ == "__main__":
    raise SystemExit(main())
