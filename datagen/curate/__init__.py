"""Curation: every record is marked `keep` or dropped with one `drop_reason`; nothing is
deleted.

    check.py      the verdict contract (Check, Context, Verdicts) and the shared text views
    runner.py     the one runner and the declared order of the checks
    reasons.py    every drop reason, its stage and meaning, defined once
    shape.py      what answer an instruction expects (label, short, code, document, long)
    quality.py    which member of a duplicate cluster is the best
    partitioned.py the record-local checks on cluster partitions, then the rest in one pass
    distributed.py a records file curated on a cluster, dedup included, partition by partition
    references.py the one reference matcher (seed examples, reference and eval sets,
                  published data) and its checks
    ledger.py     why each dropped record was dropped, for `datagen rejected` and the report
    one module per check: badinput, length, keywords, debris, strategy, pii, truncation,
    refusal, leak, garbled, nocode, placeholder, echo, repetition, language (+ langid
    engines), judge, dedup (+ minhash), surplus
"""

from datagen.checks.check import Check, Context, Texts, Verdicts
from datagen.curate.outside import References
from datagen.curate.runner import CHECK_NAMES, CHECKS, curate, reset

__all__ = ["CHECKS", "CHECK_NAMES", "Check", "Context", "References", "Texts", "Verdicts",
           "curate", "reset"]
