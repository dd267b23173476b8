"""The shape of the code: no import cycles between the project's modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("blueprints", "models", "devtools")
TOP_MODULES = ("app", "config", "exts", "tasks")


def _modules() -> dict[str, Path]:
    modules = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules ``path`` imports, anywhere in it (lazy imports too)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            # `import a.b.c` depends on a.b.c itself; a name from a module is that module.
            while target and target not in known:
                target = target.rpartition(".")[0]
            # Python imports a module's parent packages before it anyway: not a dependency.
            if target and not f"{name}.".startswith(f"{target}."):
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for neighbour in graph[node]:
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(path, name, set(modules)) for name, path in modules.items()}
    # The one cycle there must be: the factory uses make_celery, and the worker's
    # entry point `celery -A tasks.celery` builds the app with the factory.
    assert _cycles(graph) == [["app", "tasks"]]


FOUNDATION = ("config", "exts", "tasks", "blueprints.core")


def test_the_foundation_imports_no_feature():
    """config, exts, tasks and blueprints/core stand on their own: a feature
    package can change or go without touching them."""
    modules = _modules()
    foundation = [
        name for name in modules if name in FOUNDATION or name.startswith("blueprints.core.")
    ]
    assert len(foundation) >= 14, foundation
    known = set(modules)

    def feature(target: str) -> bool:
        return target.startswith("blueprints.") and not target.startswith("blueprints.core")

    leaks = {
        name: sorted(filter(feature, _imports(modules[name], name, known))) for name in foundation
    }
    assert {name: found for name, found in leaks.items() if found} == {}
    features = {path.name for path in (ROOT / "blueprints").iterdir() if path.is_dir()}
    loose = [p.name for p in (ROOT / "blueprints").glob("*.py") if p.name != "__init__.py"]
    assert loose == [], "modules directly in blueprints/ belong to a feature or to core"
    assert "core" in features


def test_every_redis_key_is_named_in_its_feature_s_keys_module():
    """A feature's Redis keys are built in its keys.py, all under <feature>:v1."""
    named_here = re.compile(r"""["'][a-z-]+:v1\b""")
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "blueprints").rglob("*.py")
        if path.name != "keys.py" and "core" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if named_here.search(line)
    ]
    assert outside == []
