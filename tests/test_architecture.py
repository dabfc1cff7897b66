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
