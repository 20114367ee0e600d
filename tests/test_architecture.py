"""The package's layers, read from its source: every ``import`` of every module of
``saleor_delivery_otp``, at module level and inside functions (and under
``if TYPE_CHECKING:``), relative imports resolved against the module's package.

* the engine (:data:`ENGINE`) knows nothing of the flows, the API, the e-mails or
  any host;
* the flows know no host and no API;
* only the Saleor plugin imports Saleor; the plugin and the sandbox never import
  each other, nor does the API import either;
* no import cycle between the package's modules (at run time: imports under
  ``if TYPE_CHECKING:`` are never executed, so they cannot close one).

No import is executed here: the plugin's modules import Saleor, which the CI tier
does not install.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

PACKAGE = "saleor_delivery_otp"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

ENGINE = (
    "conf",
    "constants",
    "models",
    "codes",
    "policy",
    "limits",
    "service",
    "tasks",
    "audit",
    "exceptions",
    "drivers",
)


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name (a submodule when ``from pkg import sub``)
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        path = MODULES[self.importer].relative_to(ROOT.parent)
        return f"{self.importer} imports {self.target} ({path}:{self.line})"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[Import] = []

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package[: len(package) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(module, alias.name, child.lineno, type_only))
            elif isinstance(child, ast.ImportFrom):
                source = resolve(child)
                for alias in child.names:
                    submodule = f"{source}.{alias.name}"
                    # ``from pkg import sub`` imports the submodule ``pkg.sub``;
                    # ``from pkg import name`` the package's ``__init__``.
                    target = submodule if submodule in MODULES else source
                    found.append(Import(module, target, child.lineno, type_only))
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), True)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), type_only)
            else:
                visit(child, type_only)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


IMPORTS = [found for module in MODULES for found in _imports_of(module)]


def _within(name: str, *packages: str) -> bool:
    """Whether ``name`` is one of ``packages`` (short names inside the package) or
    a module inside one of them."""
    return any(
        name == f"{PACKAGE}.{short}" or name.startswith(f"{PACKAGE}.{short}.")
        for short in packages
    )


def _violations(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        str(found)
        for found in IMPORTS
        if _within(found.importer, *importers) and _within(found.target, *forbidden)
    ]


def test_the_parser_sees_the_package_and_its_imports():
    # A parser that found nothing would pass every rule below.
    assert {f"{PACKAGE}.flows", f"{PACKAGE}.plugin", f"{PACKAGE}.sandbox.host"} <= (
        set(MODULES)
    )
    edges = {(found.importer, found.target) for found in IMPORTS}
    assert (f"{PACKAGE}.flows", f"{PACKAGE}.service") in edges  # from . import ...
    assert (f"{PACKAGE}.sandbox.host", f"{PACKAGE}.flows") in edges  # from .. import
    assert (f"{PACKAGE}.plugin.hooks", "saleor.order.models") in edges
    # A function-level import: the sandbox host makes its driver key lazily.
    assert (f"{PACKAGE}.sandbox.host", f"{PACKAGE}.drivers") in edges
    # The rules' matcher reports an import that is there (allowed, this one).
    assert any(
        "sandbox/host.py" in line for line in _violations(("sandbox",), ("flows",))
    )


def test_every_import_of_the_package_names_one_of_its_modules():
    """An import of a module that does not exist fails only when it runs: in the
    plugin, inside Saleor, where the CI tier never goes."""
    missing = [
        str(found)
        for found in IMPORTS
        if found.target.split(".")[0] == PACKAGE and found.target not in MODULES
    ]
    assert missing == []


def _runtime_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in IMPORTS:
        runs = not found.type_only and found.target in MODULES
        if runs and found.target != found.importer:
            graph[found.importer].add(found.target)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules, the first repeated at the end)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) is None


def test_no_import_cycle_between_modules():
    graph = _runtime_graph()
    cycle = _find_cycle(graph)
    # Every import along the cycle, with its line.
    steps = set(pairwise(cycle or []))
    lines = [
        str(found)
        for found in IMPORTS
        if not found.type_only and (found.importer, found.target) in steps
    ]
    assert cycle is None, f"import cycle {' -> '.join(cycle or [])}: {lines}"


@pytest.mark.parametrize(
    ("importers", "forbidden"),
    [
        pytest.param(
            ENGINE,
            ("flows", "graphql", "emails", "plugin", "sandbox", "app", "driver_page"),
            id="the engine imports no flow, API, e-mail or host",
        ),
        pytest.param(
            ("flows",),
            ("plugin", "sandbox", "app", "graphql"),
            id="flows import no host",
        ),
        pytest.param(("plugin",), ("sandbox", "app"), id="the plugin no other host"),
        pytest.param(("sandbox",), ("plugin", "app"), id="the sandbox no other host"),
        pytest.param(("app",), ("plugin", "sandbox"), id="the App no other host"),
        pytest.param(
            ("graphql",), ("plugin", "sandbox", "app"), id="the API imports no host"
        ),
    ],
)
def test_layers(importers, forbidden):
    # Every module named exists: a rule about a module that was renamed away
    # would hold trivially.
    for short in (*importers, *forbidden):
        assert f"{PACKAGE}.{short}" in MODULES, short
    assert _violations(importers, forbidden) == []


def test_only_the_plugin_imports_saleor():
    outside = [
        str(found)
        for found in IMPORTS
        if found.target.split(".")[0] == "saleor"
        and not _within(found.importer, "plugin")
    ]
    assert outside == []


def test_the_command_reaches_each_host_only_through_its_commands():
    """``saleor-delivery-otp`` (cli.py) adds each host's commands and imports
    nothing else of the package: ``app`` never loads the sandbox, nor ``sandbox``
    the App."""
    imported = {
        found.target
        for found in IMPORTS
        if found.importer == f"{PACKAGE}.cli" and found.target.split(".")[0] == PACKAGE
    }

    assert imported == {f"{PACKAGE}.sandbox.cli", f"{PACKAGE}.app.cli"}
