"""`datagen validate` on preference (DPO) files: OpenAI's rules (one assistant message in each
output, an input that ends with a user turn, the 10-example minimum), token counts over both
sequences, and the cost."""

from __future__ import annotations

import json
from pathlib import Path

from datagen.export.validate import validate_file
from datagen.llm.tokens import count_chat_tokens
from tests.cli import cli

MODEL = "gpt-4o-mini-2024-07-18"


def line(i: int) -> dict:
    return {"input": {"messages": [{"role": "system", "content": "Be brief."},
                                   {"role": "user", "content": f"Question {i}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"A good answer {i}."}],
            "non_preferred_output": [{"role": "assistant", "content": "Meh."}]}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_good_file_passes_with_tokens_and_cost(tmp_path: Path) -> None:
    path = write(tmp_path / "preference_train.jsonl", [line(i) for i in range(12)])
    report = validate_file(path, [MODEL], strict=True)
    assert report["passed"] and report["format"] == "preference" and report["valid"] == 12
    ex = line(0)
    both = (count_chat_tokens([*ex["input"]["messages"], *ex["preferred_output"]], MODEL)
            + count_chat_tokens([*ex["input"]["messages"], *ex["non_preferred_output"]], MODEL))
    assert report["tokens"]["per_example"]["min"] == both  # DPO reads both sequences
    m = report["models"][MODEL]
    assert m["billed_tokens"] == report["tokens"]["total"] * m["epochs"] and m["cost_usd"] > 0
    code, out = cli("validate", path)
    assert code == 0 and "error classes clear" in out


def test_openai_rules_each_named_with_its_lines(tmp_path: Path) -> None:
    rows = [line(i) for i in range(12)]
    rows[1]["input"]["messages"].append({"role": "assistant", "content": "Sure."})
    rows[3]["preferred_output"] = []
    rows[4]["non_preferred_output"] = [{"role": "user", "content": "x"}]
    rows[5]["extra"] = 1
    rows[6] = {"input": {}, "preferred_output": [], "non_preferred_output": []}
    report = validate_file(write(tmp_path / "p.jsonl", rows), [MODEL])
    errors = report["format_errors"]
    assert errors["input_not_ending_with_user"]["lines"] == [2]
    assert errors["output_not_one_assistant_message"]["lines"] == [4, 5, 7]
    assert errors["unrecognized_key"]["lines"] == [6]
    assert errors["missing_input_messages"]["lines"] == [7]
    assert not report["passed"] and report["valid"] == 7


def test_fewer_than_ten_examples_fails_validate(tmp_path: Path) -> None:
    path = write(tmp_path / "preference_train.jsonl", [line(i) for i in range(9)])
    report = validate_file(path, [MODEL], strict=True)
    assert report["format_errors"] == {} and report["valid"] == 9  # good lines, too few
    assert "too_few_examples" in report["file_errors"] and not report["passed"]
    code, out = cli("validate", path)
    assert code == 5 and "too_few_examples" in out
