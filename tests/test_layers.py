"""The layers of DESIGN.md §3 hold: `portal` on top, the domain packages importing one way, `core` at the bottom,
and no Flask below the web layer (import-linter's contracts in pyproject.toml); inside every package no module
imports itself back through others, and no portal area loops back to itself."""
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_the_ledger_loads_no_pdf_machinery():
    """The worker that posts commissions imports the ledger; rendering and sealing agreements is not its job."""
    probe = ("import sys, ledger.commissions, ledger.engine, ledger.payouts, ledger.posting; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyhanko', 'reportlab')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan): each is an import loop."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def imports_within(package: str, squash=lambda module: module) -> dict[str, set[str]]:
    graph = grimp.build_graph(package)
    edges = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            here, there = squash(module), squash(imported)
            if imported.split(".")[0] == package and here != there:
                edges[here].add(there)
    return edges


@pytest.mark.parametrize("package", ["portal", "funnel", "ledger", "pipeline", "agreements", "compliance", "core"])
def test_no_module_imports_itself_back(package):
    assert loops(imports_within(package)) == []


def test_no_portal_area_loops_back_to_itself():
    """`portal.cases` may use `portal.leads`, or the other way round, never both: a rule needed by two areas
    lives below them (a policy function next to the access declarations, a shared form)."""
    assert loops(imports_within("portal", squash=lambda module: ".".join(module.split(".")[:2]))) == []


def test_a_loop_is_found():
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
