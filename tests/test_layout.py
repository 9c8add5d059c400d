"""The package's layers: every import points one way, no module imports itself back, and the light entry points stay light.

Imports are read from the source with ``ast``, at module level and inside functions alike (a
function-level import is still a dependency), leaving out those under ``if TYPE_CHECKING:``,
which never run.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import augmentlab

PACKAGE = Path(__file__).parents[1] / "augmentlab"

LAYERS = [
    ("errors", "checks", "tensors", "atomic"),
    ("hookspecs", "registry"),
    ("augment",),
    ("losses",),
    ("testing",),
    ("data",),
    ("results",),
    ("report",),
    ("tracking",),
    ("runner",),
    ("diagnostics",),
    ("cli",),
    ("__init__", "__main__"),
]
"""Bottom first: a module may import from its own part and from the parts of earlier layers only."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports when it runs (``from pkg import sub`` counts as ``pkg.sub``)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if is_type_checking_block(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    found.discard(name)
    return found & known


def imported_modules(name: str) -> set[str]:
    path = MODULES[name]
    return imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", set(MODULES))


GRAPH = {name: imported_modules(name) for name in MODULES}


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    part = "__main__" if module == "augmentlab.__main__" else part_of(module)
    return next(index for index, layer in enumerate(LAYERS) if part in layer)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node: the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_every_module_is_placed_in_a_layer():
    assert [module for module in MODULES if not any(part_of(module) in layer or module.endswith("__main__") for layer in LAYERS)] == []


def test_no_import_cycle_between_modules():
    assert strongly_connected(GRAPH) == []


def test_no_import_cycle_between_parts():
    parts: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        parts.setdefault(part_of(module), set()).update(part_of(target) for target in targets if part_of(target) != part_of(module))
    assert strongly_connected(parts) == []


def test_imports_point_down_the_layers():
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_the_import_reader_sees_what_runs_and_only_that():
    source = """
from typing import TYPE_CHECKING
import augmentlab.errors
from augmentlab.data import cache
from augmentlab.registry.api import available_augmentations
from . import sibling
if TYPE_CHECKING:
    from augmentlab.runner.train import RunSpec
else:
    from augmentlab.results import records

def later():
    from augmentlab.report.summary import build_report
"""
    known = {
        "augmentlab.errors", "augmentlab.data", "augmentlab.data.cache", "augmentlab.registry.api", "augmentlab.pkg.sibling",
        "augmentlab.runner.train", "augmentlab.results", "augmentlab.results.records", "augmentlab.report.summary",
    }
    assert imports_of(source, "augmentlab.pkg.module", False, known) == {
        "augmentlab.errors", "augmentlab.data.cache", "augmentlab.registry.api", "augmentlab.pkg.sibling",
        "augmentlab.results.records", "augmentlab.report.summary",
    }
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        # A plugin author's check needs the registry and the augmentations, never the trainer.
        ("import augmentlab.testing", "augmentlab.runner"),
        ("import augmentlab.testing", "augmentlab.data"),
        # The package and the CLI's config read without torch.
        ("import augmentlab", "torch"),
        ("import augmentlab.runner.config", "torch"),
        ("import augmentlab.cli", "torch"),  # augmentlab --help answers at once
    ],
)
def test_light_entry_points_load_nothing_they_do_not_need(statement, forbidden):
    probe = f"import sys; {statement}; print(sorted(m for m in sys.modules if m == {forbidden!r} or m.startswith({forbidden + '.'!r})))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_every_subpackage_is_reached_from_a_plain_import_as_readme_spells_it():
    # README writes augmentlab.runner.plan_ablation and augmentlab.report.read_report after `import augmentlab` alone.
    probe = (
        "import augmentlab; print(augmentlab.runner.plan_ablation.__name__, augmentlab.report.read_report.__name__, "
        "[name for name in augmentlab.SUBPACKAGES if getattr(augmentlab, name).__name__ != 'augmentlab.' + name])"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert shown == "plan_ablation read_report []"
    packages = [path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists() and path.name != "cli"]
    assert sorted(augmentlab.SUBPACKAGES) == sorted([*packages, "testing"])  # a new subpackage is reachable too
