"""The layers, read from the source: the import graph of `app/` built with `ast`.

A domain is a package under `app/` that owns a part of the product; the modules at the top
of `app/` (errors, clock, config ...) and the packages in SHARED_PACKAGES (db, api, schemas,
cli, models) are shared infrastructure.
Imports inside functions count: they are how a cycle hides. So do imports under
`TYPE_CHECKING`: a layer that needs another's types depends on it.

Rules:
- no cycle between domain packages;
- only a domain's own modules import its `repository` (others go through its service or
  the small public module it names as its face);
- no `repository` module imports a `service` module;
- the shared layers import nothing above them: `db`, `models` and `schemas` neither the
  HTTP layer (`api`) nor a domain, and `api` no domain (the wiring hands it what it needs);
- a domain's services and repositories do not import the HTTP layer.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

DOMAINS = frozenset(
    {
        "audit",  # who changed what
        "auth",  # API keys, roles, candidate link tokens
        "board",  # the recruiters' web page
        "bulk",  # the upserts by external_id that several domains offer
        "candidates",
        "clients",
        "debrief_queue",  # the overdue queue's table, written by every change it shows
        "debriefs",  # debriefs, employer feedback and the candidate's form
        "events",  # the event log every change writes
        "followups",  # the follow-ups after an interview and the overdue queue
        "imports",  # CSV imports of clients, candidates and interviews, run as jobs
        "health",  # liveness, readiness and metrics
        "interviews",
        "notifications",  # messages to candidates and staff: the outbox, email and chat
        "privacy",  # what is held on one person (subject access)
        "reports",
        "staff",
        "sweep",  # the periodic sweep that runs every domain's due work
        "webhooks",
    }
)
SHARED_PACKAGES = frozenset(
    {
        "api",  # HTTP conventions: responses, middleware, idempotency, limits
        "cli",  # the `debrief` command and the CSV import
        "db",  # engines, base, column types, the unit of commit, query helpers, migrations
        "models",  # ORM tables
        "schemas",  # base models and field types the domains' schemas are built from
    }
)


# Below the domains, lowest first; with the modules every layer may use.
LOWER_LAYERS = ("schemas", "db", "models")
HTTP_LAYER = "api"
BASICS = frozenset({"app.clock", "app.config", "app.errors", "app.ids"})


def module_name(path: Path) -> str:
    parts = ["app", *path.relative_to(APP).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in APP.rglob("*.py")}


def imports_of(name: str, path: Path) -> list[tuple[str, int]]:
    """Every `app` module this module imports, anywhere in it, with the line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                found.append((whole if whole in MODULES else base, node.lineno))
    return [(target, line) for target, line in found if target.split(".")[0] == "app"]


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in DOMAINS else None


def where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(APP.parent)}:{line}"


def test_every_package_is_a_domain_or_shared() -> None:
    packages = {p.parent.name for p in APP.glob("*/__init__.py")}
    assert packages - DOMAINS - SHARED_PACKAGES == set(), "say what the new package is"
    assert DOMAINS - packages == set()


def test_no_cycle_between_domains() -> None:
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, targets in GRAPH.items():
        for target, line in targets:
            source, dest = domain_of(module), domain_of(target)
            if source and dest and source != dest:
                edges[source][dest].append(where(module, line))

    def reaches(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reach = {domain: reaches(domain) for domain in DOMAINS}
    cycles = {
        frozenset({a} | {b for b in reach[a] if a in reach[b]}) for a in DOMAINS if a in reach[a]
    }
    report = [
        f"{sorted(cycle)}: "
        + "; ".join(
            f"{a} -> {b} ({', '.join(edges[a][b])})"
            for a in sorted(cycle)
            for b in sorted(edges[a])
            if b in cycle
        )
        for cycle in cycles
    ]
    assert report == []


def test_only_its_own_domain_imports_a_repository() -> None:
    crossings = [
        f"{where(module, line)} imports {target}"
        for module, targets in GRAPH.items()
        for target, line in targets
        if target.endswith(".repository")
        and domain_of(target) is not None
        and domain_of(module) != domain_of(target)
    ]
    assert crossings == []


def test_no_repository_imports_a_service() -> None:
    upward = [
        f"{where(module, line)} imports {target}"
        for module, targets in GRAPH.items()
        if module.endswith(".repository")
        for target, line in targets
        if target.endswith(".service")
    ]
    assert upward == []


def test_the_graph_sees_imports_inside_functions() -> None:
    # `debrief sweep` imports its job inside the command, as the CLI does for every command.
    assert any(target.endswith(".jobs") for target, _ in GRAPH["app.cli.commands"])


def test_routers_hold_no_sql() -> None:
    queries = [
        where(module, node.lineno)
        for module, path in MODULES.items()
        if module.rpartition(".")[2] in ("router", "public_router")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)  # not `router.delete(...)`
        and node.func.id in ("select", "insert", "update", "delete", "text")
    ]
    assert queries == []


def _package(module: str) -> str:
    """`db` for app.db.queries, `main` for app.main."""
    return module.split(".")[1] if "." in module else ""


def test_the_shared_layers_import_nothing_above_them() -> None:
    below = {*LOWER_LAYERS, HTTP_LAYER}
    upward = [
        f"{where(module, line)} imports {target}"
        for module, targets in GRAPH.items()
        if _package(module) in below
        for target, line in targets
        if target not in BASICS
        and (
            _package(target) not in below
            or (_package(target) == HTTP_LAYER and _package(module) != HTTP_LAYER)
        )
    ]
    assert upward == []


def test_services_and_repositories_do_not_import_the_http_layer() -> None:
    http = [
        f"{where(module, line)} imports {target}"
        for module, targets in GRAPH.items()
        if domain_of(module) and module.rpartition(".")[2] in ("service", "repository")
        for target, line in targets
        if _package(target) == HTTP_LAYER
    ]
    assert http == []
