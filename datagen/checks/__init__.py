"""The curation checks: one module per check, the only place a verdict is decided.

    check.py      the verdict contract every check follows (Check, Context, Texts, Verdicts)
    registry.py   finds the checks (these modules, and installed packages' through the
                  `datagen.checks` entry point group) and builds from their declarations the
                  pass's order, the drop-reason catalogue and the curation config sections
    human, strategy, conformance, turns, language, faithful, judge, surplus
                  a check each (review, generation strategy, seed shapes, conversations,
                  language, grounding, judge score, targets)
    heuristics/   rules on the text alone: badinput, length, keywords, debris, pii,
                  truncation, refusal, leak, garbled, nocode, placeholder, echo, repetition
    duplicates/   records compared with each other and with outside texts: quality (best of
                  a cluster, with consensus), dedup, semantic, references

The engine that runs them (order, slices, forked workers, a Dask cluster, the ledger) is
`datagen.curate`; a check never imports it.
"""

from datagen.checks.check import Check, Context, Texts, Verdicts

__all__ = ["Check", "Context", "Texts", "Verdicts"]
