"""PII: detection with check digits, and flag / mask / drop per config."""

from __future__ import annotations

import json

import pytest

from datagen.checks.heuristics.pii import iban_valid, luhn, scan
from tests.curate.helpers import cfg, records, run

PII_RESPONSE = ("Send the signed agreement to jane.doe@example.com or call +1 (415) 555-2671; "
                "the deposit was paid with card 4111 1111 1111 1111 from IBAN "
                "DE89 3704 0044 0532 0130 00 by the holder of SSN 123-45-6789.")


@pytest.mark.parametrize(("text", "kinds"), [
    ("Write to jane.doe@example.com today.", ["EMAIL"]),
    ("Call 020 7946 0958 before noon.", ["PHONE"]),
    ("Card 4111-1111-1111-1111 was charged.", ["CREDIT_CARD"]),
    ("Card 4111 1111 1111 1112 fails Luhn.", []),
    ("IBAN GB82 WEST 1234 5698 7654 32 on file.", ["IBAN"]),
    ("SSN 123-45-6789 on the form.", ["SSN"]),
    ("SSN 000-12-3456 is never issued.", []),
    ("In 2023, clause 12.3.4 set a fee of 1500 EUR for 30 days.", []),
])
def test_scan(text: str, kinds: list[str]) -> None:
    assert scan(text)[0] == kinds


def test_check_digits() -> None:
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")
    assert "IBAN" not in scan("IBAN GB82 WEST 1234 5698 7654 33 is wrong.")[0]


def test_flag_keeps_and_records_kinds() -> None:
    df = run(records({"response": PII_RESPONSE}), cfg(pii={"mode": "flag"}))
    assert bool(df["keep"].iloc[0])
    assert json.loads(df["scores"].iloc[0])["pii"] == ["CREDIT_CARD", "EMAIL", "IBAN", "PHONE",
                                                       "SSN"]


def test_mask_replaces_with_typed_placeholders() -> None:
    df = run(records({"response": PII_RESPONSE, "instruction": "Email bob@example.org the "
                      "summary of this confidentiality clause."}), cfg(pii={"mode": "mask"}))
    res, ins = df["response"].iloc[0], df["instruction"].iloc[0]
    assert bool(df["keep"].iloc[0])
    for token in ("[EMAIL]", "[PHONE]", "[CREDIT_CARD]", "[IBAN]", "[SSN]"):
        assert token in res
    assert "@" not in res and "4111" not in res and "[EMAIL]" in ins


def test_drop_and_off() -> None:
    assert run(records({"response": PII_RESPONSE}),
               cfg(pii={"mode": "drop"}))["drop_reason"].iloc[0] == "pii"
    df = run(records({"response": PII_RESPONSE}), cfg(pii={"mode": "off"}))
    assert df["keep"].all() and "pii" not in df["scores"].iloc[0]
