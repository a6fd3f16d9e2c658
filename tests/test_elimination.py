"""Vertex elimination: blocks and their counts, every order's Jacobian, orders' costs."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.elimination.blocks import Block, add, from_dense, multiply
from chainrule.elimination.eliminate import Work
from chainrule.elimination.orders import run, structure

RNG = np.random.default_rng(0)
ORDERS = ("forward", "reverse", "markowitz", "greedy", "best")


# ----- blocks: structure and exact counts ---------------------------------------------

def test_diagonal_times_dense_costs_the_size_of_the_block():
    d = Block("diagonal", (3, 3), np.array([1.0, 2.0, 3.0]))
    D = Block("dense", (3, 5), RNG.standard_normal((3, 5)))
    P, mults, adds = multiply(d, D)
    assert (P.kind, mults, adds) == ("dense", 15, 0)
    np.testing.assert_array_equal(P.dense(), np.diag(d.values) @ D.values)


def test_dense_product_counts_a_matrix_product():
    A = Block("dense", (2, 3), RNG.standard_normal((2, 3)))
    B = Block("dense", (3, 5), RNG.standard_normal((3, 5)))
    P, mults, adds = multiply(A, B)
    assert (mults, adds) == (2 * 3 * 5, 2 * 2 * 5)
    np.testing.assert_allclose(P.dense(), A.values @ B.values, rtol=1e-15)


def test_unit_blocks_cost_no_multiplication_but_sums_cost_additions():
    sum_rows = from_dense(np.ones((1, 4)), np.ones((1, 4), bool), constant=True)
    assert sum_rows.unit and sum_rows.kind == "dense"
    D = Block("dense", (4, 2), RNG.standard_normal((4, 2)))
    P, mults, adds = multiply(sum_rows, D)
    assert (mults, adds) == (0, 3 * 2)
    np.testing.assert_allclose(P.dense(), D.values.sum(axis=0, keepdims=True))


def test_scaled_identity_and_sparse_structure():
    s = from_dense(2.0 * np.eye(3), np.eye(3, dtype=bool), constant=True)
    assert (s.kind, s.stored, s.unit) == ("scaled", 1, False)
    d = from_dense(np.diag([1.0, 2.0, 3.0]), np.eye(3, dtype=bool), constant=False)
    assert d.kind == "diagonal"
    J = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    select = from_dense(J, J != 0, constant=True)
    assert (select.kind, select.nnz, select.unit) == ("sparse", 2, True)
    C, adds = add(select, select)
    assert adds == 2 and not C.unit
    np.testing.assert_array_equal(C.dense(), 2 * J)


# ----- the graph and the Jacobian of every order ---------------------------------------

def _mlp(x, W, b):
    return cr.tanh(W @ x + b) * cr.sum(x)


def _two_outputs(x, y):
    s = cr.sin(x) * y
    return s, cr.exp(s[1:]) + x[:2] * x[:2]


def _shapes(x):
    m = cr.reshape(x, (2, 3))
    return cr.concatenate([cr.softmax(m, axis=1), cr.max(m, axis=0)[None, :]], axis=0).T


def _copies(x, y):
    z = x * y
    return z, z + 1.0, x, cr.tensor(3.0)


def _many_ops(x):
    m = cr.reshape(x, (2, 3))
    a = cr.take(x, np.array([0, 2, 2, 5])) * 2 + cr.flip(cr.pad(x, (1, 2)))[:4] ** 2
    b = cr.einsum("ij,j->i", m, cr.cos(x[:3])) + cr.logsumexp(m, axis=1)
    c = cr.where(x > 0, x, 0.5 * x) + cr.maximum(x, 0.1) + cr.clip(cr.cumsum(x), -0.5, 0.5)
    d = cr.stack(cr.split(x, 3), axis=1).sum(axis=0) * cr.var(x) + cr.linalg.norm(x)
    return cr.concatenate([a, b, c, d])


CASES = {
    "mlp": (_mlp, (RNG.standard_normal(3), RNG.standard_normal((4, 3)), RNG.standard_normal(4))),
    "two_outputs": (_two_outputs, (RNG.standard_normal(3), 0.7)),
    "shapes": (_shapes, (RNG.standard_normal(6),)),
    "copies": (_copies, (RNG.standard_normal(2), RNG.standard_normal(2))),
    "many_ops": (_many_ops, (RNG.standard_normal(6),)),
}


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [np.asarray(tree.data)]


def _per_pair(tree, n_out, n_args):
    """{(output, argnum): array} from J[output][argnum] (a level is absent when it has one)."""
    outs = tree if n_out > 1 else (tree,)
    return {(q, a): np.asarray((o[a] if n_args > 1 else o).data)
            for q, o in enumerate(outs) for a in range(n_args)}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("order", ORDERS)
def test_every_order_gives_the_jacobian(name, order):
    f, args = CASES[name]
    n = len(args)
    outs = f(*args)
    n_out = len(outs) if isinstance(outs, tuple) else 1
    got = _per_pair(cr.elimination.graph(f, *args).eliminate(order, seconds=0.05).jacobian,
                    n_out, n)
    by_rev = _per_pair(cr.jacrev(f, 0 if n == 1 else tuple(range(n)))(*args), n_out, n)
    by_fwd = {}
    for a in range(n):   # one argument at a time: J[output] in every layout
        blocks = cr.jacfwd(f, a)(*args)
        for q, block in enumerate(blocks if n_out > 1 else (blocks,)):
            by_fwd[(q, a)] = np.asarray(block.data)
    assert got.keys() == by_rev.keys() == by_fwd.keys()
    for key in got:
        for ref in (by_rev[key], by_fwd[key]):
            assert got[key].shape == ref.shape
            np.testing.assert_allclose(got[key], ref, rtol=0, atol=1e-12)


def test_the_graph_names_its_vertices_and_blocks():
    x, W, b = CASES["mlp"][1]
    g = cr.elimination.graph(_mlp, x, W, b)
    assert [g.vertices[i].name for i in g.inputs] == ["x", "W", "b"]
    kinds = {g.vertices[k].op: block.kind for (k, j), block in g.edges.items()}
    assert kinds["tanh"] == "diagonal"
    text = str(g)
    assert "d v3 / d W: sparse 4x12 (12 nonzeros)" in text      # W @ x by W
    assert "scaled identity 4 +-1" in text                       # + b


def test_exact_counts_of_a_small_example():
    # f(x) = 3 sin(x), x in R^4: eliminating sin(x) multiplies diag(cos x) by 3 I: 4 mul.
    g = cr.elimination.graph(lambda x: cr.sin(x) * 3.0, np.arange(4.0))
    e = g.eliminate("forward")
    assert (e.multiplications, e.additions) == (4, 0)
    np.testing.assert_allclose(e.jacobian.data, np.diag(3 * np.cos(np.arange(4.0))))


def test_matrix_chain_costs_are_the_chain_dynamic_program():
    A1, A2, A3 = (RNG.standard_normal(s) for s in [(5, 2), (4, 5), (3, 4)])
    g = cr.elimination.graph(lambda x: A3 @ (A2 @ (A1 @ x)), np.ones(2))
    n0, n1, n2, n3 = 2, 5, 4, 3
    assert g.cost("forward")[0] == n2 * n1 * n0 + n3 * n2 * n0
    assert g.cost("reverse")[0] == n3 * n2 * n1 + n3 * n1 * n0
    assert g.cost("optimal")[0] == cr.explain.chain_costs([n0, n1, n2, n3]).optimal


def test_optimal_is_the_cheapest_of_all_orders():
    x, W, b = CASES["mlp"][1]
    g = cr.elimination.graph(_mlp, x, W, b)
    every = min(g.cost(list(p))[0] for p in itertools.permutations(g.intermediates))
    assert g.cost("optimal")[0] == every
    assert every <= min(g.cost(h)[0] for h in ("forward", "reverse", "markowitz"))


def _heart(x1, x2, x3, x4, x5, x6, x7, x8):
    a = x5 ** 2 - x7 ** 2
    b = x6 ** 2 - x8 ** 2
    return (x1 * a - 2 * x3 * x5 * x7 + x2 * b - 2 * x4 * x6 * x8,
            x3 * a - 2 * x1 * x5 * x7 + x4 * b - 2 * x2 * x6 * x8,
            x5 * x1 + x6 * x2 - x7 * x3 - x8 * x4)


def test_search_never_loses_to_the_heuristics_and_counts_agree():
    args = tuple(RNG.uniform(0.5, 1.5, 8))
    g = cr.elimination.graph(_heart, *args, free_units=False)
    assert len(g.intermediates) > 20
    heuristics = min(g.cost(h)[0] for h in ("forward", "reverse", "markowitz", "greedy"))
    found = g.eliminate("search", seconds=0.3)
    assert found.multiplications <= heuristics
    ref = cr.jacrev(_heart, tuple(range(8)))(*args)
    np.testing.assert_allclose(np.array(_leaves(found.jacobian)), np.array(_leaves(ref)),
                               atol=1e-12)
    # the scalar fast path of the search counts exactly what the general engine counts
    for _ in range(3):
        order = list(RNG.permutation(g.intermediates))
        fast = run(structure(g), order)
        general = run(Work({k: b.structure_only() for k, b in g.edges.items()},
                           len(g.vertices)), order)
        assert (fast.multiplications, fast.additions, fast.peak) == (
            general.multiplications, general.additions, general.peak)


@pytest.mark.parametrize("name", ["mlp", "many_ops"])
def test_the_graph_after_a_set_does_not_depend_on_its_order(name):
    # what the exhaustive search and the annealing's partial re-runs rely on
    f, args = CASES[name]
    g = cr.elimination.graph(f, *args)
    k = len(g.intermediates) // 2
    first = list(RNG.permutation(g.intermediates))
    states = []
    for _ in range(3):
        prefix = list(RNG.permutation(first[:k]))
        work = run(Work({key: b.structure_only() for key, b in g.edges.items()},
                        len(g.vertices)), prefix)
        states.append({key: (b.kind, b.nnz, b.unit, b.pattern().tobytes())
                       for key, b in work.edges.items()})
        rest = run(work, first[k:])
        assert rest.edges.keys() == {(q, a) for (q, a) in rest.edges
                                     if q in g.outputs and a in g.inputs}
    assert states[0] == states[1] == states[2]


def test_free_units_is_a_counting_convention_only():
    args = tuple(RNG.uniform(0.5, 1.5, 8))
    free = cr.elimination.graph(_heart, *args)
    every = cr.elimination.graph(_heart, *args, free_units=False)
    for order in ("forward", "reverse"):
        assert free.cost(order)[0] < every.cost(order)[0]
        a, b = free.eliminate(order).jacobian, every.eliminate(order).jacobian
        np.testing.assert_array_equal(np.array(_leaves(a)), np.array(_leaves(b)))


def test_given_orders_by_name_and_their_errors():
    g = cr.elimination.graph(lambda x: cr.exp(cr.sin(cr.cos(x))), 0.5)
    names = g.order("reverse")
    assert g.eliminate(names).sequence == names == ["v2", "v1"]
    with pytest.raises(ValueError, match="every intermediate exactly once"):
        g.eliminate(["v1"])
    with pytest.raises(ValueError, match="not a vertex"):
        g.eliminate(["v1", "nope"])
    with pytest.raises(ValueError, match="unknown order 'sideways'"):
        g.eliminate("sideways")
    big = cr.elimination.graph(_heart, *RNG.uniform(0.5, 1.5, 8))
    with pytest.raises(ValueError, match="at most 20 intermediates"):
        big.eliminate("optimal")


def test_steps_and_peak_entries():
    x, W, b = CASES["mlp"][1]
    e = cr.elimination.graph(_mlp, x, W, b).eliminate("reverse")
    assert sum(s.multiplications for s in e.steps) == e.multiplications
    assert sum(s.additions for s in e.steps) == e.additions
    assert e.peak_entries >= max(s.stored for s in e.steps)
    assert "eliminate" in str(e)


# ----- public entry points --------------------------------------------------------------

def test_jacobian_mode_eliminate_has_jax_layout():
    x, W, b = CASES["mlp"][1]
    J = cr.jacobian(_mlp, mode="eliminate")(x, W, b)
    np.testing.assert_allclose(J.data, cr.jacfwd(_mlp)(x, W, b).data, atol=1e-12)
    Js = cr.jacobian(_two_outputs, argnums=(0, 1), mode="eliminate")(*CASES["two_outputs"][1])
    ref = cr.jacrev(_two_outputs, argnums=(0, 1))(*CASES["two_outputs"][1])
    for got, want in zip(_leaves(Js), _leaves(ref)):
        np.testing.assert_allclose(got, want, atol=1e-12)
    with pytest.raises(ValueError, match="mode must be"):
        cr.jacobian(_mlp, mode="sideways")


def test_compare_rows_text_and_html():
    x, W, b = CASES["mlp"][1]
    c = cr.elimination.compare(_mlp, x, W, b, repeats=1)
    assert [r.order for r in c.rows] == ["forward", "reverse", "markowitz", "greedy", "optimal"]
    assert all(r.seconds > 0 for r in c.rows)
    assert c.best.multiplications == min(r.multiplications for r in c.rows)
    text = str(c)
    assert "multiplications" in text and "step by step" in text
    assert "<table>" in c._repr_html_()


def test_cli_eliminate(capsys):
    from chainrule.cli.main import main
    assert main(["explain", "--eliminate", "c = a * b; d = sin(c); e = d * a + c",
                 "--at", "a=2", "b=3"]) == 0
    out = capsys.readouterr().out
    assert "optimal" in out and "eliminate d * a" in out


def test_pictures_show_the_graph_shrinking(tmp_path, capsys):
    g = cr.elimination.graph(lambda a, b: (a + b) * (b + 1), 2.0, 1.0)
    assert g.to_dot().count("->") == len(g.edges)
    e = g.eliminate("forward")
    first, last = e.to_dot(0), e.to_dot(len(e.steps))
    assert 'color="red"' in first and 'color="red"' not in last
    assert last.count("->") == 2          # only d out / d a and d out / d b are left
    page = e.to_html()                    # without graphviz: the DOT text
    assert page.count("<section>") == len(e.steps) + 1 and "eliminate v2" in page
    assert "<table>" in e._repr_html_()
    from chainrule.cli.main import main
    path = tmp_path / "steps.html"
    assert main(["explain", "--eliminate", "(a+b)*(b+1)", "--at", "a=2", "b=1",
                 "--html", str(path)]) == 0
    assert path.read_text().count("<section>") == 3


def test_too_large_local_jacobians_are_refused(monkeypatch):
    from chainrule.elimination import linearized
    monkeypatch.setattr(linearized, "MAX_LOCAL_ENTRIES", 10)
    x, W, b = CASES["mlp"][1]
    with pytest.raises(ValueError, match=r"local Jacobian of matmul \(output \(4,\), input "
                                         r"\(4, 3\)\) would hold 48 entries"):
        cr.elimination.graph(_mlp, x, W, b)


def test_elementwise_batch_kind_builds_only_the_diagonal():
    from chainrule.ops._define import defop
    cube = defop("elimination_test_cube", lambda x: x ** 3,
                 vjp=lambda g, ans, x: g * 3 * x * x, jvp=lambda t, ans, x: t * 3 * x * x,
                 batch="elementwise")
    x = RNG.standard_normal(5)
    g = cr.elimination.graph(lambda x: cube(x) * 2.0, x)
    (block,) = [b for (k, j), b in g.edges.items() if g.vertices[k].op == cube.name]
    assert block.kind == "diagonal"
    np.testing.assert_allclose(g.eliminate("forward").jacobian.data, np.diag(6 * x * x),
                               atol=1e-12)


def test_best_falls_back_to_the_search_when_the_exhaustive_one_runs_out_of_time():
    from chainrule.elimination import orders
    x, W, b = CASES["mlp"][1]
    g = cr.elimination.graph(_mlp, x, W, b)
    name, order = orders.best(g, seconds=0.0)
    assert name == "search" and sorted(order) == g.intermediates
    assert orders.best(g, seconds=10.0)[0] == "optimal"
