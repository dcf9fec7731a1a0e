"""Print every import cycle among uprbuzz's modules (strongly connected components).

Counts every import, including those inside functions and under ``TYPE_CHECKING``: a cycle
hidden in a function is still a cycle for a reader. Exit 1 when there is one.
Usage: python tools/ci/import_cycles.py [package]
"""

from __future__ import annotations

import sys

import grimp


def cycles(package: str = "uprbuzz") -> list[list[str]]:
    graph = grimp.build_graph(package, cache_dir=None)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    # Package __init__ modules import nothing of their children here, so an edge to a package
    # is an edge to its __init__: no special casing needed.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def strong(v: str) -> None:  # Tarjan, iterative enough for a few hundred modules
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for m in modules:
        if m not in index:
            strong(m)
    return found


def main() -> int:
    found = cycles(sys.argv[1] if len(sys.argv) > 1 else "uprbuzz")
    for comp in found:
        print("import cycle: " + " <-> ".join(comp))
    print(f"{len(found)} import cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
