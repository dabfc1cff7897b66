"""The OpenAI pre-flight check: every cookbook error class on hand-made bad lines, and the
token / epoch / cost numbers of a hand-computed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.config import FineTunePrice
from datagen.errors import ConfigError
from datagen.export.validate import (
    ERROR_CLASSES,
    default_epochs,
    distribution,
    example_errors,
    validate_file,
)
from datagen.llm.tokens import count_tokens
from tests.cli import cli

MINI = "gpt-4o-mini-2024-07-18"
OK = {"messages": [{"role": "system", "content": "You are a lawyer."},
                   {"role": "user", "content": "What is an NDA?"},
                   {"role": "assistant", "content": "A non-disclosure agreement."}]}

BAD_LINES = [  # (line, the classes it must raise)
    ("this is not json", ["invalid_json"]),
    ("[1, 2]", ["data_type"]),
    ('{"prompt": "q", "completion": "a"}', ["missing_messages_list"]),
    ('{"messages": []}', ["missing_messages_list"]),
    ('{"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}',
     ["message_missing_key", "missing_content"]),
    ('{"messages": [{"role": "user", "content": "q", "source": "x"},'
     ' {"role": "assistant", "content": "a"}]}', ["message_unrecognized_key"]),
    ('{"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}',
     ["unrecognized_role"]),
    ('{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]}',
     ["missing_content"]),
    ('{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}]}',
     ["missing_content"]),
    ('{"messages": [{"role": "user", "content": "q"}]}', ["example_missing_assistant_message"]),
    ('{"messages": [{"role": "user", "content": "q"},'
     ' {"role": "assistant", "content": "a", "weight": 2}]}', ["invalid_weight"]),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
     ' "extra": 1}', ["unrecognized_example_key"]),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
     ' "tools": [{"name": "f"}]}', ["invalid_tools"]),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": '
     '[{"id": "c1", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},'
     ' {"role": "tool", "tool_call_id": "c1", "content": "r"},'
     ' {"role": "assistant", "content": "a"}], "tools": TOOLS}', ["invalid_tool_call"]),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": '
     '[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\\"x\\": 1}"}}]},'
     ' {"role": "assistant", "content": "a"}], "tools": TOOLS}', ["tool_call_unanswered"]),
    ('{"messages": [{"role": "user", "content": "q"},'
     ' {"role": "tool", "tool_call_id": "zz", "content": "r"},'
     ' {"role": "assistant", "content": "a"}], "tools": TOOLS}', ["tool_message_unmatched"]),
]
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
BAD_LINES = [(line.replace("TOOLS", json.dumps(TOOLS)), classes) for line, classes in BAD_LINES]
CALLING = {"tools": TOOLS, "messages": [
    {"role": "user", "content": "q"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                          "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "r"},
    {"role": "assistant", "content": "a"}]}


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_bad_line_raises_exactly_its_classes(tmp_path: Path) -> None:
    good = json.dumps(OK)
    weighted = json.dumps({"messages": [{"role": "user", "content": "q"},
                                        {"role": "assistant", "content": "a", "weight": 0}]})
    path = write(tmp_path / "bad.jsonl", [good, *(line for line, _ in BAD_LINES), weighted])
    report = validate_file(path, [MINI])
    expected: dict[str, list[int]] = {}
    for n, (_, classes) in enumerate(BAD_LINES, start=2):
        for cls in classes:
            expected.setdefault(cls, []).append(n)
    assert {c: v["lines"] for c, v in report["format_errors"].items()} == expected
    assert set(expected) == set(ERROR_CLASSES)  # every class is exercised
    assert not report["passed"] and report["valid"] == 2
    assert report["examples"] == len(BAD_LINES) + 2
    assert report["warnings"] == {"missing_system_message": 1, "missing_user_message": 0}
    assert example_errors({"messages": [{"role": "assistant", "content": "a"}]}) == []
    assert example_errors(CALLING) == []


def test_tool_definitions_count_in_the_tokens(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path / "tools.jsonl", [json.dumps(CALLING)] * 10), [MINI])
    assert report["passed"], report["format_errors"]
    defs = report["tokens"]["tool_definitions"]
    assert defs == 10 * count_tokens(json.dumps(TOOLS), MINI) > 0
    no_calls = {"tools": TOOLS, "messages": [CALLING["messages"][0], CALLING["messages"][-1]]}
    plain = {"messages": no_calls["messages"]}
    both = validate_file(write(tmp_path / "both.jsonl", [json.dumps(no_calls)] * 10), [MINI])
    bare = validate_file(write(tmp_path / "bare.jsonl", [json.dumps(plain)] * 10), [MINI])
    assert both["tokens"]["total"] - bare["tokens"]["total"] == defs


def test_hand_computed_tokens_epochs_and_cost(tmp_path: Path) -> None:
    # o200k_base: "You are a lawyer." = You|are|a|lawyer|. = 5, "What is an NDA?" = 5,
    # "A non-disclosure agreement." = A|non|-dis|closure|agreement|. = 6; each role word = 1.
    # Chat framing: 3 per message + 3 to prime the reply: 3 + 3*(3+1) + 5 + 5 + 6 = 31.
    path = write(tmp_path / "train.jsonl", [json.dumps(OK)] * 10)
    small = FineTunePrice(usd_per_1m_tokens=1.5, context_limit=20)
    report = validate_file(path, [MINI, "tiny-limit"], {"tiny-limit": small})
    assert report["passed"] and report["valid"] == 10
    tok = report["tokens"]
    assert tok["encoding"] == "o200k_base" and tok["exact"]
    assert tok["per_example"] == {"min": 31, "mean": 31.0, "p50": 31, "p95": 31, "max": 31}
    assert tok["assistant_per_example"]["max"] == 6
    mini = report["models"][MINI]
    # 10 examples x 3 epochs = 30 < 100, so epochs = min(25, 100 // 10) = 10
    assert mini["epochs"] == 10 and mini["over_limit"] == 0
    assert mini["billed_tokens"] == 10 * 31 * 10
    assert mini["cost_usd"] == pytest.approx(3100 * 3.00 / 1e6)
    tiny = report["models"]["tiny-limit"]  # every example is cut to the 20-token limit
    assert tiny["over_limit"] == 10 and tiny["billed_tokens"] == 10 * 20 * 10
    assert tiny["cost_usd"] == pytest.approx(2000 * 1.5 / 1e6)


@pytest.mark.parametrize(("n", "epochs"), [(1, 25), (3, 25), (10, 10), (33, 3), (34, 3),
                                           (8333, 3), (8334, 2), (12_500, 2), (30_000, 1)])
def test_epoch_heuristic(n: int, epochs: int) -> None:
    assert default_epochs(n) == epochs


def test_distribution_nearest_rank() -> None:
    assert distribution(list(range(1, 21))) == {"min": 1, "mean": 10.5, "p50": 10, "p95": 19,
                                                "max": 20}


def test_unknown_target_model_says_how_to_price_it(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", [json.dumps(OK)])
    with pytest.raises(ConfigError, match="export.prices"):
        validate_file(path, ["my-model"])


def test_cli_exit_code_and_table(tmp_path: Path) -> None:
    good = write(tmp_path / "good.jsonl", [json.dumps(OK)] * 10)
    bad = write(tmp_path / "bad.jsonl", [json.dumps(OK)] * 9 + [BAD_LINES[7][0]])
    assert cli("validate", good)[0] == 0
    code, out = cli("validate", bad)
    assert code == 5
    assert "missing_content" in out and "cost $" in out and "error:" in out


@pytest.mark.parametrize(("lines", "said"), [
    ([], "empty_file"),
    ([json.dumps(OK)], "too_few_examples"),  # OpenAI needs at least 10
    ([json.dumps(OK)] * 9, "too_few_examples"),
])
def test_files_openai_refuses_whole_fail(tmp_path: Path, lines: list[str], said: str) -> None:
    code, out = cli("validate", write(tmp_path / "f.jsonl", lines))
    assert code == 5 and said in out and "Traceback" not in out


def test_unreadable_files_get_the_line_not_a_traceback(tmp_path: Path) -> None:
    code, out = cli("validate", tmp_path)
    assert code == 5 and "is a directory" in out
    binary = tmp_path / "model.bin"
    junk = b"\x00\x01" + bytes(range(128, 256))
    binary.write_bytes(json.dumps(OK).encode() + b"\n" + junk + b"\n")
    code, out = cli("validate", binary)
    assert code == 5 and "model.bin:2: binary data" in out
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes((json.dumps(OK) + "\n").encode() * 3 + '{"x": "café"}'.encode("latin-1"))
    code, out = cli("validate", latin)
    assert code == 5 and "latin1.jsonl:4: not UTF-8" in out
    deep = write(tmp_path / "deep.jsonl", [json.dumps(OK)] * 10 + ["[" * 100_000 + "]" * 100_000])
    code, out = cli("validate", deep)
    assert code == 5 and "invalid_json" in out and "Traceback" not in out
    code, out = cli("validate", tmp_path / "missing.jsonl")
    assert code == 5 and "no such file" in out
