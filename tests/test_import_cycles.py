"""The package's imports form no cycle (module-level and deferred imports alike), so
every arrow of docs/architecture.md runs one way."""
import ast
import os
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PKG = 'etad_mmaction'


def _modules():
    mods = {}
    for folder, dirs, files in os.walk(osp.join(ROOT, PKG)):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
        for f in files:
            if f.endswith('.py'):
                rel = osp.relpath(osp.join(folder, f), ROOT)[:-3].replace(os.sep, '.')
                is_pkg = rel.endswith('.__init__')
                mods[rel[:-9] if is_pkg else rel] = (osp.join(folder, f), is_pkg)
    return mods


def import_graph():
    """{module: set of package modules it imports}."""
    mods, graph = _modules(), {}
    for mod, (path, is_pkg) in mods.items():
        edges = set()
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = mod.split('.') if is_pkg else mod.split('.')[:-1]
                target = ('.'.join(base[:len(base) - node.level + 1]
                                   + ([node.module] if node.module else []))
                          if node.level else node.module)
                for alias in node.names:
                    sub = f'{target}.{alias.name}'
                    edges.add(sub if sub in mods else target)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
        graph[mod] = {e for e in edges if e in mods and e != mod}
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_detector_sees_a_cycle():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert 'etad_mmaction.datasets.synthetic.store' in graph['etad_mmaction.datasets.synthetic'
                                                            '.features']
    assert cycles(graph) == []
