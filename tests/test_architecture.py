"""The tree's shape, checked: no import circle, the core and the command line import nothing
from the dashboard, no module grows past 600 lines, no HTML from the app, and the
architecture documents name only modules that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("etl", "graph", "models", "register", "jobs", "security", "synth", "texts", "bench", "ui")
CORE = ("etl", "graph", "models", "security", "register", "texts")
MAX_LINES = 600


def project_modules() -> dict[str, Path]:
    """Every module of the project by dotted name (tests, notebooks and migrations aside)."""
    found = {
        path.stem: ROOT / path.name
        for path in (ROOT / "app.py", ROOT / "serve.py", ROOT / "cli.py", ROOT / "config.py")
    }
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[dotted.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in known}


def import_graph() -> nx.DiGraph:
    modules = project_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imports_of(path, set(modules)):
            if target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    return graph


def test_the_import_graph_has_no_circle() -> None:
    graph = import_graph()
    assert graph.number_of_edges() > 100  # the walk found the tree's imports
    cycles = list(nx.simple_cycles(graph, length_bound=6))
    assert cycles == []


def test_the_core_and_the_command_line_import_nothing_from_the_dashboard() -> None:
    graph = import_graph()
    offenders = sorted(
        (source, target)
        for source, target in graph.edges
        if target.split(".")[0] == "ui" and (source == "cli" or source.split(".")[0] in CORE)
    )
    assert offenders == []


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in project_modules().items()
    }
    assert max(sizes.values()) > 100  # the files were read
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_nothing_is_rendered_as_html() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in project_modules().values()
        if "unsafe_allow_html=True" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_architecture_documents_name_modules_that_exist() -> None:
    named: set[str] = set()
    for document in (ROOT / "docs" / "architecture.md", ROOT / "README.md"):
        text = document.read_text(encoding="utf-8")
        named.update(
            re.findall(r"\b((?:etl|graph|models|register|jobs|security|ui|bench|synth)/[a-z_/]+\.py)", text)
        )
    assert len(named) > 10
    assert sorted(path for path in named if not (ROOT / path).exists()) == []
