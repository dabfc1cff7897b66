"""The house rules of the import graph, checked on the real graph (grimp parses every import,
including the lazy ones inside functions and those under TYPE_CHECKING).

- No import cycles among datagen's and the flows' modules: each concern has one place and the
  dependencies run one way.
- Only `flows/` imports Prefect: the library runs without it (`datagen.run` with LocalFanout),
  and the flows are thin wrappers over the same stages.
"""

from __future__ import annotations

import grimp
import pytest

OURS = ("datagen", "flows")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*OURS, include_external_packages=True, cache_dir=None)


def _ours(module: str) -> bool:
    return module.split(".")[0] in OURS


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    modules = sorted(m for m in graph.modules if _ours(m))
    assert len(modules) > 50  # the graph really holds the package
    cycles = []
    for importer in modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if _ours(imported) and imported != importer and graph.chain_exists(
                    importer=imported, imported=importer):
                chain = graph.find_shortest_chain(importer=imported, imported=importer)
                cycles.append(f"{importer} -> {' -> '.join(chain or [])}")
    assert not cycles, "\n".join(cycles)


def test_only_flows_import_prefect(graph: grimp.ImportGraph) -> None:
    importers = graph.find_modules_that_directly_import("prefect")
    assert any(m.startswith("flows.") for m in importers)  # the check can see an import
    assert sorted(m for m in importers if m.startswith("datagen")) == []


# The rooms of the house: the checks decide verdicts, the engine runs them; the vocabulary
# every stage shares sits outside both.
CHECKS = "datagen.checks"
ENGINE = "datagen.curate"
SHARED = ("datagen.reasons", "datagen.similarity", "datagen.language", "datagen.shape",
          "datagen.text", "datagen.records", "datagen.settings", "datagen.cpus")
# The stages and the parts that run them, which may use a check's helpers (a judge rubric, a
# shape count) but reach the engine only through the orchestrator.
STAGES = ("datagen.seeds", "datagen.generate", "datagen.export", "datagen.llm",
          "datagen.report", "datagen.evaluate", "datagen.finetune")
MAX_MODULES = 20


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports(graph: grimp.ImportGraph, importers: str | tuple[str, ...],
             imported: str | tuple[str, ...]) -> list[str]:
    froms = (importers,) if isinstance(importers, str) else importers
    tos = (imported,) if isinstance(imported, str) else imported
    return sorted(f"{m} -> {i}" for m in graph.modules if any(_under(m, f) for f in froms)
                  for i in graph.find_modules_directly_imported_by(m)
                  if any(_under(i, t) for t in tos))


def test_checks_never_reach_into_the_engine(graph: grimp.ImportGraph) -> None:
    """A check reads the outside texts' type (`datagen.curate.outside`, the one exception,
    for its Context), nothing else of the engine: the engine finds the checks, not the
    other way round."""
    assert _imports(graph, "datagen.curate.runner", CHECKS)  # the rule can see an import
    wrong = [e for e in _imports(graph, CHECKS, ENGINE)
             if not e.endswith("-> datagen.curate.outside")]
    assert not wrong, wrong


def test_shared_vocabulary_reaches_no_stage(graph: grimp.ImportGraph) -> None:
    """Reasons, similarity, language engines, shapes, texts and records serve every stage,
    so they import none: a stage uses them without reaching into curation."""
    assert _imports(graph, "datagen.export", SHARED)  # the rule can see an import
    wrong = _imports(graph, SHARED, (CHECKS, ENGINE, "datagen.config", "datagen.run",
                                     *STAGES))
    assert not wrong, wrong


def test_stages_reach_the_engine_only_through_the_orchestrator(graph: grimp.ImportGraph) -> None:
    assert not _imports(graph, STAGES, ENGINE)


def test_no_package_folder_holds_more_than_20_modules() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "datagen"
    crowded = {str(d.relative_to(root.parent)): n for d in [root, *root.rglob("*")]
               if d.is_dir() and (n := len(list(d.glob("*.py")))) > MAX_MODULES}
    assert not crowded, crowded
