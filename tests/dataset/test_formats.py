"""Every accepted input format converts to the same canonical Vertex Gemini SFT JSONL."""

from __future__ import annotations

import io
import json
import random

import pytest

from airflow_tuning.dataset import CsvColumns, Options, SourceError, local_sources, prepare, validate
from airflow_tuning.dataset.formats import OVERSIZED, iter_lines
from airflow_tuning.dataset.sources import inline_source
from tests.dataset.conftest import chat, jsonl, read_jsonl, vertex

PAIR = vertex("What is 2+2?", "4")


def _prepared_lines(tmp_path, sources, **options):
    workdir = tmp_path / "out"
    workdir.mkdir(exist_ok=True)
    prepared = prepare(sources, str(workdir), Options(validation_max=0, **options))
    with open(prepared.train.path, "rb") as fh:
        return prepared, fh.read()


@pytest.mark.parametrize(
    "name, content",
    [
        ("vertex.jsonl", jsonl(PAIR)),
        ("pairs.jsonl", jsonl({"input": "What is 2+2?", "output": "4"})),
        ("tutorial.jsonl", jsonl({"text_input": "What is 2+2?", "output": "4", "id": 7})),
        ("table.csv", "input,output\nWhat is 2+2?,4\n"),
        ("tutorial.csv", "id,text_input,output\n1,What is 2+2?,4\n"),
    ],
)
def test_every_format_gives_the_same_canonical_line(tmp_path, write, name, content):
    prepared, data = _prepared_lines(tmp_path, local_sources([write(name, content)]))
    expected = json.dumps(PAIR, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"
    assert data == expected
    assert prepared.train.examples == 1


def test_system_instruction_is_added_to_pairs_and_csv_but_not_to_vertex_examples(tmp_path, write):
    sources = local_sources([
        write("p.jsonl", jsonl({"input": "a", "output": "b"})),
        write("c.csv", "input,output\nc,d\n"),
        write("v.jsonl", jsonl(vertex("e", "f"))),
    ])
    _, data = _prepared_lines(tmp_path, sources, system_instruction="Answer tersely.")
    examples = read_jsonl(data)
    assert [e.get("systemInstruction") for e in examples] == [
        {"parts": [{"text": "Answer tersely."}]}, {"parts": [{"text": "Answer tersely."}]}, None,
    ]


def test_realistic_multi_turn_file_with_files_functions_and_system_instruction(tmp_path, write):
    tools_example = {
        "systemInstruction": {"role": "system", "parts": [{"text": "You are a store assistant."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Is the white phone in stock?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_sku", "args": {"name": "white phone"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_sku", "response": {"sku": "W1"}}}]},
            {"role": "model", "parts": [{"text": "Yes, SKU W1 is in stock."}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "get_sku", "parameters": {"type": "object"}}]}],
    }
    image_example = {
        "contents": [
            {"role": "user", "parts": [
                {"file_data": {"mime_type": "image/jpeg", "file_uri": "gs://media/cat.jpg"}},
                {"text": "Describe the picture."},
            ]},
            {"role": "model", "parts": [{"text": "A cat on a sofa."}]},
            {"role": "user", "parts": [{"fileData": {"mimeType": "application/pdf", "fileUri": "https://x.org/a.pdf"}}]},
            {"role": "model", "parts": [{"text": "The PDF is an invoice."}]},
        ]
    }
    path = write("chat.jsonl", jsonl(tools_example, image_example, chat("hi", "hello", "how are you?", "fine")))
    report = validate(local_sources([path]))
    assert report.ok and report.examples == 3, report.render()
    _, data = _prepared_lines(tmp_path, local_sources([path]))
    written = read_jsonl(data)
    assert written[0] == tools_example
    # snake_case fileData spelling is rewritten to the camelCase the API documents
    assert written[1]["contents"][0]["parts"][0] == {
        "fileData": {"mimeType": "image/jpeg", "fileUri": "gs://media/cat.jpg"}}
    assert [turn["role"] for turn in written[2]["contents"]] == ["user", "model", "user", "model"]


def test_unicode_bom_crlf_and_blank_lines(tmp_path, write):
    text = "Grüße, 東京, مرحبا, emoji 🚀, zero-width\u200b, line\u2028separator\u0085next"
    body = ("\r\n".join([json.dumps(vertex(text, "¿Qué?"), ensure_ascii=False), "", "   ",
                         json.dumps({"input": "naïve", "output": "café"}, ensure_ascii=True)]) + "\r\n")
    path = write("bom.jsonl", b"\xef\xbb\xbf" + body.encode("utf-8"))
    report = validate(local_sources([path]))
    assert (report.examples, report.invalid, report.blank) == (2, 0, 2), report.render()
    _, data = _prepared_lines(tmp_path, local_sources([path]))
    assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")
    first, second = read_jsonl(data)
    assert first["contents"][0]["parts"][0]["text"] == text
    assert second["contents"][1]["parts"][0]["text"] == "café"
    assert "東京".encode() in data  # written as UTF-8, not \\u escapes ...
    assert data.count(b"\n") == 2 and b"\\u2028" in data and b"\\u0085" in data  # ... except line breaks
    assert len(data.decode().splitlines()) == 2


def test_csv_quoted_commas_quotes_and_newlines_keep_record_start_line_numbers(tmp_path, write):
    csv_text = (
        'prompt,response,notes\r\n'                      # line 1 (header)
        '"Hello, world","Hi, there",x\r\n'               # line 2
        '"multi\r\nline\r\nprompt","He said ""yes""",\r\n'  # lines 3-5
        'only-one-field\r\n'                             # line 6: invalid
        '\r\n'                                           # line 7: blank
        '"last","",y\r\n'                                # line 8: empty response
    )
    path = write("table.csv", b"\xef\xbb\xbf" + csv_text.encode())
    options = Options(columns=CsvColumns(input="prompt", output="response"))
    report = validate(local_sources([path]), options)
    assert [(p.line, p.reason) for p in report.problems] == [
        (6, "record has 1 field(s); the header has 3"),
        (8, "'response' is empty"),
    ]
    assert (report.examples, report.blank) == (2, 1)
    _, data = _prepared_lines(tmp_path, local_sources([path]), columns=options.columns, on_invalid="skip",
                              max_invalid_fraction=0.5)
    first, second = read_jsonl(data)
    assert first["contents"][0]["parts"][0]["text"] == "Hello, world"
    assert second["contents"][0]["parts"][0]["text"] == "multi\nline\nprompt"
    assert second["contents"][1]["parts"][0]["text"] == 'He said "yes"'


def test_csv_without_the_configured_columns_is_a_source_error(write):
    path = write("bad.csv", "question,answer\nq,a\n")
    with pytest.raises(SourceError, match=r"bad.csv: the CSV header has no column 'input' or 'text_input'"):
        validate(local_sources([path]))


def test_csv_unterminated_quote_is_reported_at_its_record(write):
    path = write("broken.csv", 'input,output\na,b\n"never closed,c\n')
    report = validate(local_sources([path]))
    assert [p.line for p in report.problems] == [3]
    assert "malformed CSV" in report.problems[0].reason or "field(s)" in report.problems[0].reason


def test_format_can_be_forced(write):
    path = write("data.txt", jsonl({"input": "a", "output": "b"}, PAIR))
    report = validate(local_sources([path], fmt="vertex"))
    assert [(p.line, p.reason.split(":")[0]) for p in report.problems] == [(1, "missing 'contents'")]
    report = validate(local_sources([path], fmt="pairs"))
    assert [p.line for p in report.problems] == [2]
    csv_path = write("table.data", "input,output\na,b\n")
    assert validate(local_sources([csv_path], fmt="csv")).examples == 1


def test_directories_globs_and_inline_examples_are_merged(tmp_path, write):
    write("hist/2024/a.jsonl", jsonl(*[vertex(f"q{i}", f"a{i}") for i in range(3)]))
    write("hist/2025/b.csv", "input,output\nq3,a3\n")
    write("hist/README.md", "not data")
    new = write("new/week.jsonl", jsonl(vertex("q4", "a4"), vertex("q0", "a0")))
    sources = local_sources([str(tmp_path / "hist"), str(tmp_path / "new" / "*.jsonl")])
    sources.append(inline_source([{"input": "q5", "output": "a5"}, json.dumps(vertex("q6", "a6"))]))
    assert [s.name for s in sources][-2:] == [new, "examples"]
    report = validate(sources)
    assert (report.examples, report.duplicates, report.invalid) == (7, 1, 0), report.render()


def test_missing_paths_and_empty_globs_are_errors(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        local_sources([str(tmp_path / "absent.jsonl")])
    with pytest.raises(SourceError, match="matches no data file"):
        local_sources([str(tmp_path / "*.jsonl")])


def test_iter_lines_handles_lines_across_blocks_and_oversized_lines():
    data = b"a" * 10 + b"\n" + b"b" * 25 + b"\r\n" + b"c" * 100 + b"\nlast"
    lines = list(iter_lines(io.BytesIO(data), block_size=7, max_line=50))
    assert lines == [(1, b"a" * 10), (2, b"b" * 25), (3, OVERSIZED), (4, b"last")]


def test_iter_lines_gives_the_same_lines_at_any_block_size():
    """Lines are found by BytesIO's line iterator block by block; whatever the block size, they are the
    physical lines of the whole input, each without its \\n or \\r\\n (a lone \\r is kept inside a line), a
    leading byte-order mark removed, and a line longer than ``max_line`` is ``OVERSIZED`` only if it is
    longer than ``max_line`` (it is when it is also longer than a block plus ``max_line``)."""
    rng = random.Random(7)
    pieces = [b"a", b"\n", b"\r", b"\r\n", b"xyz", b" ", b"\xc3\xa9", b"{}", b"\xef\xbb\xbf"]
    for _ in range(4000):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        data = (b"\xef\xbb\xbf" if rng.random() < 0.3 else b"") + body
        physical = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")  # one leading mark, and only there
        if physical[-1] == b"":
            physical.pop()
        block_size, max_line = rng.randint(1, 16), rng.choice([1 << 30, rng.randint(1, 12)])
        got = list(iter_lines(io.BytesIO(data), block_size=block_size, max_line=max_line))
        assert [number for number, _ in got] == list(range(1, len(physical) + 1)), data
        for (_, line), raw in zip(got, physical):
            if line is OVERSIZED:  # sizes count the line's bytes as read, a \r before its \n included
                assert len(raw) > max_line, (data, block_size, max_line)
            else:
                assert line == (raw[:-1] if raw.endswith(b"\r") else raw), (data, block_size, max_line)
                assert len(raw) <= max_line + block_size, (data, block_size, max_line)


@pytest.mark.parametrize("block_size", [1, 2, 3, 4])
def test_a_byte_order_mark_alone_in_the_first_read_is_still_removed(block_size):
    data = b"\xef\xbb\xbf" + b"a\nb\n"
    assert list(iter_lines(io.BytesIO(data), block_size=block_size)) == [(1, b"a"), (2, b"b")]
