"""The curation engine: every record is marked `keep` or dropped with one `drop_reason`;
nothing is deleted. The checks themselves live in `datagen.checks`, one module each; the
engine finds them through `datagen.checks.registry` and decides how a pass runs.

    runner.py      the one runner: the checks in their declared order, the first reason wins
    pool.py        a large pass's record-local checks on slices, in forked workers
    partitioned.py the record-local checks on Dask partitions, then the rest in one pass
    distributed.py a records file curated on a cluster, dedup included, partition by partition
    outside.py     the outside texts (seed examples, reference and eval sets, published data)
    ledger.py      why each dropped record was dropped, for `datagen rejected` and the report
"""

from datagen.checks.check import Check, Context, Texts, Verdicts
from datagen.curate.outside import References
from datagen.curate.runner import CHECK_NAMES, CHECKS, curate, reset

__all__ = ["CHECKS", "CHECK_NAMES", "Check", "Context", "References", "Texts", "Verdicts",
           "curate", "reset"]
