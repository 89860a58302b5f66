"""Samplers of DPS / EGS (Sec. 3.3, App. H): counts, determinism, strategy
properties, exactness of the k-DPP."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import etad_mmaction  # noqa: F401  (registers the samplers)
from etad_mmaction.models.samplers import (SAMPLER_STRATEGIES, BlockSampler, DPPSampler,
                                           FPSSampler, GreedyDPPSampler, GridSampler,
                                           IoUBalancedSampler, RandomSampler,
                                           ScaleBalancedSampler,
                                           build_sampler, farthest_point_sampling,
                                           greedy_dpp_map, sample_k_dpp_low_rank)
from etad_mmaction.models.samplers import dpp_sampler as dpp_module
from etad_mmaction.models.samplers.balanced_samplers import batched_quotas
from balanced_quotas_reference import balanced_quotas
from etad_mmaction.models.samplers.seeding import counter_hash, hashed_uniforms, sampling_seed
from etad_mmaction.models.samplers import fps_sampler as fps_module
from etad_mmaction.models.utils.proposal_map import valid_proposals
from mmaction.registry import TASK_UTILS

ALL_TYPES = list(SAMPLER_STRATEGIES.values())
RANDOM_TYPES = ['RandomSampler', 'BlockSampler', 'FPSSampler', 'DPPSampler',
                'IoUBalancedSampler', 'ScaleBalancedSampler']


def gen(seed):
    return torch.Generator().manual_seed(seed)


def inputs_1d(n, c=8, seed=0):
    g = gen(seed)
    return dict(coords=torch.arange(n).view(-1, 1), features=torch.randn(n, c, generator=g),
                ious=torch.rand(n, generator=g), scales=torch.rand(n, generator=g))


def inputs_map(t, d, c=8, seed=0):
    coords = valid_proposals(t, d)
    n = coords.shape[0]
    g = gen(seed)
    return dict(coords=coords, features=torch.randn(n, c, generator=g),
                ious=torch.rand(n, generator=g),
                scales=(coords[:, 1] - coords[:, 0]).float() / t)


def build(type_, ratio, **kw):
    return TASK_UTILS.build(dict(type=type_, ratio=ratio, **kw))


def check_indices(idx, n, k):
    assert idx.dtype == torch.long and idx.dim() == 1
    assert idx.numel() == k
    assert torch.equal(idx, torch.sort(idx).values)
    assert idx.unique().numel() == k
    assert k == 0 or (int(idx.min()) >= 0 and int(idx.max()) < n)


# ----------------------------------------------------------------- building, ratio
@pytest.mark.parametrize('type_', ALL_TYPES)
def test_build_from_config(type_):
    sampler = TASK_UTILS.build(dict(type=type_, ratio=0.25))
    assert type(sampler).__name__ == type_ and sampler.ratio == 0.25
    assert sampler.num_samples(100) == 25


def test_build_sampler_by_strategy_name():
    for name, type_ in SAMPLER_STRATEGIES.items():
        assert type(build_sampler(dict(strategy=name, ratio=0.1))).__name__ == type_
        assert type(build_sampler(name, ratio=0.1)).__name__ == type_
    sampler = RandomSampler(0.1)
    assert build_sampler(sampler) is sampler
    with pytest.raises(ValueError, match='strategy'):
        build_sampler(dict(strategy='nope', ratio=0.1))
    with pytest.raises(ValueError, match='type'):
        build_sampler(dict(type='NopeSampler', ratio=0.1))


@pytest.mark.parametrize('type_', ALL_TYPES)
@pytest.mark.parametrize('ratio', [0, -0.1, 1.5, float('nan'), True, '0.1', None])
def test_invalid_ratio(type_, ratio):
    with pytest.raises(ValueError, match='ratio'):
        TASK_UTILS.build(dict(type=type_, ratio=ratio))


@pytest.mark.parametrize('cfg, key', [
    (dict(type='GridSampler', offset='middle'), 'offset'),
    (dict(type='FPSSampler', start='last'), 'start'),
    (dict(type='FPSSampler', backend='cuda'), 'backend'),
    (dict(type='DPPSampler', eps=0.0), 'eps'),
    (dict(type='GreedyDPPSampler', eps=-1.0), 'eps'),
    (dict(type='IoUBalancedSampler', bins=[0.5, 0.2]), 'bins'),
    (dict(type='ScaleBalancedSampler', bins=[0.5]), 'bins'),
])
def test_invalid_options(cfg, key):
    with pytest.raises(ValueError, match=key):
        TASK_UTILS.build(dict(ratio=0.1, **cfg))


def test_missing_or_mismatched_inputs():
    with pytest.raises(ValueError, match='features'):
        FPSSampler(0.5)(10)
    with pytest.raises(ValueError, match='ious'):
        IoUBalancedSampler(0.5)(10, scales=torch.rand(10))
    with pytest.raises(ValueError, match='coords'):
        GridSampler(0.5)(10, coords=torch.arange(9).view(-1, 1))


# ----------------------------------------------------------------- exact counts
@pytest.mark.parametrize('type_', ALL_TYPES)
def test_exact_counts(type_):
    cases = [inputs_1d(n, seed=n) for n in (1, 2, 7, 50, 128, 300)]
    cases += [inputs_map(16, 16), inputs_map(20, 8), inputs_map(9, 3)]
    for inputs in cases:
        n = inputs['coords'].shape[0]
        for ratio in (0.01, 0.06, 0.3, 0.5, 0.99, 1.0):
            sampler = build(type_, ratio)
            k = max(1, math.floor(ratio * n + 1e-9))
            assert sampler.num_samples(n) == k
            check_indices(sampler(n, generator=gen(1), **inputs), n, k)


def test_full_map_counts_at_default_size():
    inputs = inputs_map(128, 128, c=4)
    n = inputs['coords'].shape[0]
    assert n == 8256
    for type_ in ('RandomSampler', 'GridSampler', 'BlockSampler', 'FPSSampler',
                  'IoUBalancedSampler', 'ScaleBalancedSampler'):
        check_indices(build(type_, 0.06)(n, generator=gen(0), **inputs), n, 495)


# ----------------------------------------------------------------- determinism
@pytest.mark.parametrize('type_', RANDOM_TYPES)
def test_same_seed_same_indices_different_seed_differs(type_):
    inputs = inputs_map(24, 24, seed=3)
    n = inputs['coords'].shape[0]
    sampler = build(type_, 0.1)
    a = sampler(n, generator=gen(7), **inputs)
    b = sampler(n, generator=gen(7), **inputs)
    assert torch.equal(a, b)
    others = [sampler(n, generator=gen(s), **inputs) for s in (8, 9, 10)]
    assert any(not torch.equal(a, o) for o in others)


@pytest.mark.parametrize('type_', ALL_TYPES)
def test_no_generator_is_deterministic_and_leaves_global_state(type_):
    inputs = inputs_1d(60)
    sampler = build(type_, 0.2)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = sampler(60, **inputs)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(456)
    assert torch.equal(a, sampler(60, **inputs))


# ----------------------------------------------------------------- random
def test_random_uniform_inclusion_chi_square():
    n, draws = 20, 3000
    sampler = RandomSampler(0.25)
    g = gen(0)
    counts = torch.zeros(n)
    for _ in range(draws):
        counts[sampler(n, generator=g)] += 1
    expected = np.full(n, draws * 5 / n)
    assert stats.chisquare(counts.numpy(), expected).pvalue > 1e-3


# ----------------------------------------------------------------- grid
def test_grid_1d_evenly_spaced_and_deterministic():
    sampler = GridSampler(0.3)
    idx = sampler(128, generator=gen(0))
    assert torch.equal(idx, sampler(128, generator=gen(1)))
    assert torch.equal(idx, (2 * torch.arange(38) + 1) * 128 // 76)
    gaps = idx.diff()
    assert int(gaps.max() - gaps.min()) <= 1
    start = GridSampler(0.25, offset='start')(100)
    assert torch.equal(start, torch.arange(0, 100, 4))


def test_grid_1d_follows_coords_order():
    coords = torch.randperm(50, generator=gen(0)).view(-1, 1)
    idx = GridSampler(0.2)(50, coords=coords)
    positions = torch.sort(coords[idx, 0]).values
    assert torch.equal(positions, (2 * torch.arange(10) + 1) * 50 // 20)


def test_grid_on_proposal_map():
    coords = valid_proposals(128, 128)
    n = coords.shape[0]
    sampler = GridSampler(0.06)
    idx = sampler(n, coords=coords, generator=gen(0))
    assert torch.equal(idx, sampler(n, coords=coords, generator=gen(5)))
    check_indices(idx, n, 495)
    start, length = coords[idx, 0], coords[idx, 1] - coords[idx, 0]
    # a lattice of (start, length): few distinct rows / columns, evenly spread
    starts, lengths = start.unique(), length.unique()
    assert len(starts) <= 40 and len(lengths) <= 40
    assert starts.diff().unique().numel() == 1 and lengths.diff().unique().numel() == 1
    assert int(starts.min()) <= 4 and int(starts.max()) >= 120
    assert int(lengths.min()) <= 4 and int(lengths.max()) >= 120


def test_grid_random_offset_uses_generator():
    coords = valid_proposals(32, 32)
    n = coords.shape[0]
    sampler = GridSampler(0.1, offset='random')
    a = sampler(n, coords=coords, generator=gen(0))
    assert torch.equal(a, sampler(n, coords=coords, generator=gen(0)))
    assert any(not torch.equal(a, sampler(n, coords=coords, generator=gen(s))) for s in (1, 2, 3))


# ----------------------------------------------------------------- block
def test_block_1d_contiguous():
    for seed in range(10):
        idx = BlockSampler(0.3)(128, generator=gen(seed))
        assert torch.equal(idx, torch.arange(int(idx[0]), int(idx[0]) + 38))
    coords = torch.randperm(40, generator=gen(0)).view(-1, 1)
    idx = BlockSampler(0.25)(40, coords=coords, generator=gen(1))
    pos = torch.sort(coords[idx, 0]).values
    assert torch.equal(pos, torch.arange(int(pos[0]), int(pos[0]) + 10))


def _is_4_connected(points):
    points = set(points)
    todo, seen = [next(iter(points))], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            q = (p[0] + dx, p[1] + dy)
            if q in points and q not in seen:
                todo.append(q)
    return seen == points


@pytest.mark.parametrize('t, d, ratio', [(128, 128, 0.06), (40, 16, 0.1), (20, 20, 0.3)])
def test_block_on_map_is_a_contiguous_block(t, d, ratio):
    coords = valid_proposals(t, d)
    n = coords.shape[0]
    sampler = BlockSampler(ratio)
    k = sampler.num_samples(n)
    starts = set()
    for seed in range(6):
        idx = sampler(n, coords=coords, generator=gen(seed))
        check_indices(idx, n, k)
        start, length = coords[idx, 0], coords[idx, 1] - coords[idx, 0]
        assert _is_4_connected(zip(start.tolist(), length.tolist()))
        w = math.ceil(math.sqrt(k))
        if t == d:  # square map in (start, length): a window of side ceil(sqrt(k)) fits
            assert int(start.max() - start.min()) < w and int(length.max() - length.min()) < w
        starts.add(int(start.min()))
    assert len(starts) > 1  # random position


# ----------------------------------------------------------------- FPS
def _check_farthest_first(x, order):
    x = x.double()
    for t in range(1, len(order)):
        dist = torch.cdist(x, x[order[:t]]).min(dim=1).values
        assert float(dist[order[t]]) >= float(dist.max()) - 1e-9


@pytest.mark.parametrize('c', [2, 16])
def test_fps_farthest_first_property(c):
    x = torch.randn(200, c, generator=gen(c), dtype=torch.float64)
    order = farthest_point_sampling(x, 30, first=5)
    assert int(order[0]) == 5 and order.unique().numel() == 30
    _check_farthest_first(x, order)
    idx = FPSSampler(0.15, start='first', backend='torch')(200, features=x)
    assert torch.equal(idx, torch.sort(farthest_point_sampling(x, 30, first=0)).values)


def test_fps_random_start_and_duplicates():
    x = torch.randn(50, 3, generator=gen(0)).repeat(2, 1)  # every point twice
    sampler = FPSSampler(0.9, backend='torch')
    idx = sampler(100, features=x, generator=gen(1))
    check_indices(idx, 100, 90)
    starts = {int(FPSSampler(0.02, backend='torch')(100, features=x, generator=gen(s))[0])
              for s in range(8)}
    assert len(starts) > 1


@pytest.mark.skipif(fps_module.torch_cluster is None, reason='torch_cluster not installed')
def test_fps_torch_cluster_matches_torch():
    x = torch.randn(300, 8, generator=gen(0), dtype=torch.float64)
    for start in ('first', 'random'):
        a = FPSSampler(0.1, start=start, backend='torch')(300, features=x, generator=gen(3))
        b = FPSSampler(0.1, start=start, backend='torch_cluster')(300, features=x,
                                                                 generator=gen(3))
        assert torch.equal(a, b)


# ----------------------------------------------------------------- DPP
def _brute_force_k_dpp(x, k, eps):
    L = x @ x.T + eps * np.eye(x.shape[0])
    subsets = list(itertools.combinations(range(x.shape[0]), k))
    prob = np.array([np.linalg.det(L[np.ix_(s, s)]) for s in subsets])
    prob /= prob.sum()
    marginal = np.zeros(x.shape[0])
    for s, p in zip(subsets, prob):
        marginal[list(s)] += p
    return subsets, prob, marginal


@pytest.mark.parametrize('n, c, k, eps', [(8, 12, 3, 1e-2), (8, 3, 3, 1e-2), (8, 3, 5, 0.3),
                                           (8, 2, 3, 1.0), (12, 4, 6, 0.1)])
def test_dpp_matches_exact_k_dpp(n, c, k, eps):
    """Empirical inclusion and subset frequencies vs brute force over all k-subsets;
    c < k exercises the degenerate eps eigenspace."""
    draws = 3000
    features = torch.randn(n, c, generator=gen(c * 10 + k), dtype=torch.float64)
    x = dpp_module.cosine_kernel_features(features)
    subsets, prob, marginal = _brute_force_k_dpp(x, k, eps)
    sampler = DPPSampler(k / n, eps=eps)
    g = gen(2024)
    counts = np.zeros(n)
    hist = dict.fromkeys(subsets, 0)
    for _ in range(draws):
        idx = tuple(sampler(n, features=features, generator=g).tolist())
        counts[list(idx)] += 1
        hist[idx] += 1
    freq = counts / draws
    z = (freq - marginal) / np.sqrt(marginal * (1 - marginal) / draws + 1e-12)
    assert np.abs(z).max() < 4.0, (freq, marginal)
    observed = np.array([hist[s] for s in subsets], dtype=float)
    expected = prob * draws
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    assert stats.chisquare(obs[keep], exp[keep]).pvalue > 1e-3


def test_projection_dpp_phase_matches_determinants():
    """Phase 2 alone (rejection from refreshed bounds): P(S) = det(K_S), K = B B^T."""
    n, k, draws = 7, 3, 3000
    basis = np.linalg.qr(torch.randn(n, k, generator=gen(5), dtype=torch.float64).numpy())[0]
    K = basis @ basis.T
    subsets = list(itertools.combinations(range(n), k))
    prob = np.array([np.linalg.det(K[np.ix_(s, s)]) for s in subsets])
    assert abs(prob.sum() - 1) < 1e-9
    uniform = dpp_module._Uniforms(gen(0))
    hist = dict.fromkeys(subsets, 0)
    for _ in range(draws):
        hist[tuple(sorted(dpp_module.sample_projection_dpp(basis, uniform).tolist()))] += 1
    observed = np.array([hist[s] for s in subsets], dtype=float)
    expected = prob * draws
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    assert stats.chisquare(obs[exp > 0], exp[exp > 0]).pvalue > 1e-3


def test_dpp_log_esp_matches_dppy():
    from dppy.exact_sampling import elementary_symmetric_polynomials
    lam = np.array([0.3, 2.0, 5.0, 11.0, 0.02])
    table = dpp_module._log_esp_table(np.log(lam), 4)
    ref = elementary_symmetric_polynomials(lam, 4)  # [l, j]
    np.testing.assert_allclose(np.exp(table), ref.T, rtol=1e-12)
    # the degenerate eps block as (1 + eps x)^m0: same normaliser as listing eps m0 times
    eps, m0, k = 0.05, 6, 4
    full = elementary_symmetric_polynomials(np.r_[lam + eps, np.full(m0, eps)], k)[k, -1]
    table = dpp_module._log_esp_table(np.log(lam + eps), k)
    m = np.arange(0, k + 1)
    ours = np.exp(dpp_module._log_binom(m0, m) + m * np.log(eps) + table[len(lam), k - m]).sum()
    np.testing.assert_allclose(ours, full, rtol=1e-12)


def test_dpp_agrees_with_dppy_sampler():
    from dppy.finite_dpps import FiniteDPP
    n, k, draws = 6, 2, 1500
    features = torch.randn(n, 3, generator=gen(11), dtype=torch.float64)
    x = dpp_module.cosine_kernel_features(features)
    dpp = FiniteDPP('likelihood', L=x @ x.T + 1e-2 * np.eye(n))
    rng = np.random.RandomState(0)
    ours, theirs = {}, {}
    g = gen(0)
    for _ in range(draws):
        a = tuple(sorted(sample_k_dpp_low_rank(x, k, 1e-2, g).tolist()))
        b = tuple(sorted(int(i) for i in dpp.sample_exact_k_dpp(size=k, random_state=rng)))
        ours[a] = ours.get(a, 0) + 1
        theirs[b] = theirs.get(b, 0) + 1
    keys = sorted(set(ours) | set(theirs))
    table = np.array([[ours.get(s, 0) for s in keys], [theirs.get(s, 0) for s in keys]])
    assert stats.chi2_contingency(table).pvalue > 1e-3


def test_dpp_at_proposal_map_size():
    n, k, c = 8256, 495, 64
    features = torch.randn(n, c, generator=gen(0))
    idx = DPPSampler(0.06)(n, features=features, generator=gen(1))
    check_indices(idx, n, k)


def test_dpp_handles_zero_and_duplicate_features():
    features = torch.zeros(30, 4)
    features[:10] = torch.randn(10, 4, generator=gen(0))
    features[10:20] = features[:10]
    check_indices(DPPSampler(0.5)(30, features=features, generator=gen(0)), 30, 15)
    with pytest.raises(ValueError, match='NaN'):
        DPPSampler(0.5)(4, features=torch.tensor([[1.0], [float('nan')], [0.0], [2.0]]))


# ----------------------------------------------------------------- greedy DPP
@pytest.mark.parametrize('c', [3, 20])
def test_greedy_dpp_each_step_maximises_log_det_gain(c):
    n, k, eps = 12, 6, 1e-2
    features = torch.randn(n, c, generator=gen(c), dtype=torch.float64)
    x = dpp_module.cosine_kernel_features(features)
    L = x @ x.T + eps * np.eye(n)
    order = greedy_dpp_map(x, k, eps)
    for t in range(k):
        chosen = list(order[:t])
        gains = np.full(n, -np.inf)
        for i in set(range(n)) - set(chosen):
            gains[i] = np.linalg.slogdet(L[np.ix_(chosen + [i], chosen + [i])])[1]
        assert gains[order[t]] >= gains.max() - 1e-9
    idx = GreedyDPPSampler(k / n)(n, features=features, generator=gen(0))
    assert torch.equal(idx, torch.sort(torch.from_numpy(order)).values)
    assert torch.equal(idx, GreedyDPPSampler(k / n)(n, features=features, generator=gen(1)))


# ----------------------------------------------------------------- balanced
def _bin_counts(values, idx, edges=(0.3, 0.7)):
    which = torch.bucketize(values[idx].double(), torch.tensor(edges, dtype=torch.float64),
                            right=True)
    return torch.bincount(which, minlength=len(edges) + 1).tolist()


@pytest.mark.parametrize('cls, key', [(IoUBalancedSampler, 'ious'),
                                      (ScaleBalancedSampler, 'scales')])
def test_balanced_equal_bins(cls, key):
    values = torch.rand(300, generator=gen(0))
    idx = cls(0.1)(300, generator=gen(1), **{key: values})
    check_indices(idx, 300, 30)
    assert _bin_counts(values, idx) == [10, 10, 10]
    idx = cls(0.1)(300, generator=gen(1), **{key: values})  # k = 31 does not split evenly
    counts = _bin_counts(values, cls(31 / 300)(300, generator=gen(2), **{key: values}))
    assert sum(counts) == 31 and max(counts) - min(counts) == 1


@pytest.mark.parametrize('cls, key', [(IoUBalancedSampler, 'ious'),
                                      (ScaleBalancedSampler, 'scales')])
def test_balanced_degrades_gracefully(cls, key):
    values = torch.cat([torch.full((2,), 0.9), torch.full((40,), 0.5), torch.full((158,), 0.1)])
    idx = cls(0.2)(200, generator=gen(0), **{key: values})  # k = 40
    check_indices(idx, 200, 40)
    assert _bin_counts(values, idx) == [19, 19, 2]
    values = torch.full((50,), 0.05)  # a single populated bin
    idx = cls(0.5)(50, generator=gen(0), **{key: values})
    check_indices(idx, 50, 25)


def test_balanced_custom_bins_and_out_of_range_values():
    ious = torch.tensor([-0.1, 0.1, 0.2, 0.45, 0.55, 0.8, 1.0, 1.2])
    sampler = IoUBalancedSampler(0.5, bins=[0.0, 0.25, 0.5, 0.75, 1.0])
    idx = sampler(8, ious=ious, generator=gen(0))
    check_indices(idx, 8, 4)
    assert _bin_counts(ious, idx, edges=(0.25, 0.5, 0.75)) == [1, 1, 1, 1]


def test_balanced_quotas_water_filling():
    assert balanced_quotas([100, 100, 100], 30, gen(0)) == [10, 10, 10]
    assert balanced_quotas([2, 100, 100], 30, gen(0)) == [2, 14, 14]
    assert balanced_quotas([0, 5, 100], 30, gen(0)) == [0, 5, 25]
    q = balanced_quotas([100, 100, 100], 31, gen(0))
    assert sorted(q) == [10, 10, 11]
    with pytest.raises(ValueError):
        balanced_quotas([1, 1], 3, gen(0))


# ----------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(type_=st.sampled_from(ALL_TYPES), n=st.integers(1, 80),
       ratio=st.floats(0.01, 1.0), seed=st.integers(0, 2**31), two_d=st.booleans())
def test_sampler_invariants(type_, n, ratio, seed, two_d):
    if two_d:
        t = max(1, int(math.sqrt(2 * n)))
        inputs = inputs_map(t, max(1, t // 2), c=4, seed=seed % 97)
        n = inputs['coords'].shape[0]
    else:
        inputs = inputs_1d(n, c=4, seed=seed % 97)
    sampler = build(type_, ratio)
    k = max(1, min(n, math.floor(ratio * n + 1e-9)))
    check_indices(sampler(n, generator=gen(seed), **inputs), n, k)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 40), c=st.integers(1, 6), k=st.integers(1, 40),
       seed=st.integers(0, 2**31))
def test_k_dpp_invariants(n, c, k, seed):
    k = min(k, n)
    x = torch.randn(n, c, generator=gen(seed), dtype=torch.float64).numpy()
    idx = sample_k_dpp_low_rank(x, k, 1e-2, gen(seed))
    assert sorted(set(idx.tolist())) == sorted(idx.tolist()) and len(idx) == k
    assert all(0 <= i < n for i in idx.tolist())


# ----------------------------------------------------------------- batched draws
BATCHED_TYPES = ['RandomSampler', 'GridSampler', 'BlockSampler', 'IoUBalancedSampler',
                 'ScaleBalancedSampler']


def test_counter_hash_is_pinned_and_uniform():
    keys = torch.tensor([sampling_seed(0, 0, i, 'dps') for i in range(3)]).view(-1, 1)
    bits = counter_hash(keys, torch.arange(4).view(1, -1))
    # the draws of a stream must not change between releases (resumed runs)
    assert bits[0].tolist() == [2535356008, 3022474601, 1191212351, 3079731553]
    many = counter_hash(keys, torch.arange(60000).view(1, -1))
    assert int(many.min()) >= 0 and int(many.max()) < 2**32
    u = hashed_uniforms(keys, torch.arange(60000).view(1, -1)).double()
    for row in u:                                        # Kolmogorov-Smirnov vs U(0, 1)
        assert stats.kstest(row.numpy(), 'uniform').pvalue > 1e-3
    assert abs(float(torch.corrcoef(u)[0, 1])) < 0.02   # streams independent
    assert abs(float(torch.corrcoef(torch.stack([u[0, :-1], u[0, 1:]]))[0, 1])) < 0.02


@pytest.mark.parametrize('type_', BATCHED_TYPES)
@pytest.mark.parametrize('two_d', [False, True])
def test_batched_draws_do_not_depend_on_the_batch(type_, two_d):
    inputs = inputs_map(12, 8) if two_d else inputs_1d(90)
    n = inputs['coords'].shape[0]
    sampler = build(type_, 0.2)
    assert sampler.batched
    keys = torch.tensor([sampling_seed(3, 1, i, 'dps') for i in range(4)])
    rows = dict(ious=torch.stack([inputs['ious'].roll(5 * b) for b in range(4)]),
                scales=inputs['scales'].expand(4, -1))            # per-video labels
    batch = sampler.sample_batch(keys, n, coords=inputs['coords'], **rows)
    assert batch.shape == (4, sampler.num_samples(n))
    for b in range(4):
        check_indices(batch[b], n, sampler.num_samples(n))
        alone = sampler.sample_batch(keys[b:b + 1], n, coords=inputs['coords'],
                                     **{k: v[b:b + 1] for k, v in rows.items()})
        assert torch.equal(alone[0], batch[b])
    if type_ != 'GridSampler':                           # the grid is the same for all
        assert not torch.equal(batch[0], batch[1])


def test_batched_quotas_fill_like_the_water_filling():
    g = gen(0)
    for trial in range(400):
        nb = int(torch.randint(1, 6, (1,), generator=g))
        cap = [int(c) for c in torch.tensor([0, 0, 1, 2, 3, 5, 10, 50])[
            torch.randint(0, 8, (nb,), generator=g)]]
        if sum(cap) == 0:
            continue
        k = int(torch.randint(1, sum(cap) + 1, (1,), generator=g))
        level = max(v for v in range(max(cap) + 1) if sum(min(c, v) for c in cap) <= k)
        for quota in (balanced_quotas(cap, k, gen(trial)),
                      batched_quotas(torch.tensor([cap]), k,
                                     torch.randint(0, 2**32, (1, nb), generator=g))[0].tolist()):
            extra = [q - min(c, level) for q, c in zip(quota, cap)]
            assert sum(quota) == k and set(extra) <= {0, 1}, (cap, k, quota)
            assert all(c > level for e, c in zip(extra, cap) if e), (cap, k, quota)


def test_batched_balanced_draw_is_uniform_within_bins():
    values = torch.cat([torch.full((10,), 0.1), torch.full((30,), 0.5), torch.full((60,), 0.9)])
    sampler = IoUBalancedSampler(0.15)                   # k = 15: 5 per bin
    keys = torch.tensor([sampling_seed(0, e, 0, 'dps') for e in range(600)])
    picks = sampler.sample_batch(keys, 100, ious=values.expand(600, -1))
    hits = torch.zeros(100).index_add_(0, picks.reshape(-1), torch.ones(picks.numel()))
    for lo, hi, rate in ((0, 10, 0.5), (10, 40, 5 / 30), (40, 100, 5 / 60)):
        freq = hits[lo:hi] / 600
        sd = (rate * (1 - rate) / 600) ** 0.5
        assert abs(float(freq.mean()) - rate) < 1e-6
        assert float((freq - rate).abs().max()) < 4.5 * sd


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('start', ['random', 'first'])
def test_fps_batch_equals_per_video_reference(dtype, start):
    """One k-step loop over [B, n, c] picks what the per-video calls pick."""
    from etad_mmaction.models.samplers import farthest_point_sampling_batch
    b, n, c = 4, 300, 12
    x = torch.randn(b, n, c, generator=gen(5), dtype=dtype)
    x[1, 150:] = x[1, :150]                                  # duplicated points
    firsts = torch.tensor([0, 7, 299, 42])
    picks = farthest_point_sampling_batch(x, 25, firsts)
    for i in range(b):
        assert torch.equal(picks[i], farthest_point_sampling(x[i], 25, int(firsts[i])))
    keys = torch.tensor([11, 12, 13, 2**62 + 5])
    # the CPU default loops per video; cpu_per_video=False forces the batched loop
    for per_video in (True, False):
        sampler = FPSSampler(0.1, start=start, backend='torch', cpu_per_video=per_video)
        batch = sampler.sample_batch(keys, n, features=x)
        assert batch.shape == (b, 30)
        for i, key in enumerate(keys.tolist()):
            ref = sampler(n, features=x[i], generator=torch.Generator().manual_seed(key))
            assert torch.equal(batch[i], ref)


def test_fps_batched_branch_is_taken(monkeypatch):
    """cpu_per_video=False runs farthest_point_sampling_batch on the CPU (else
    the comparison above would test the per-video loop twice)."""
    calls = []
    batch_fn = fps_module.farthest_point_sampling_batch
    monkeypatch.setattr(fps_module, 'farthest_point_sampling_batch',
                        lambda *a: calls.append(1) or batch_fn(*a))
    x = torch.randn(2, 50, 4, generator=gen(0))
    FPSSampler(0.1, backend='torch').sample_batch(torch.tensor([1, 2]), 50, features=x)
    assert calls == []
    FPSSampler(0.1, backend='torch', cpu_per_video=False).sample_batch(
        torch.tensor([1, 2]), 50, features=x)
    assert calls == [1]
    with pytest.raises(ValueError, match='cpu_per_video'):
        FPSSampler(0.1, cpu_per_video='yes')


@pytest.mark.parametrize('per_video', [True, False])
def test_fps_half_precision_autocast_picks_like_fp32(per_video):
    """Distances |x|^2 - 2 x.p + |p|^2 cancel in bf16: FPS runs in fp32 with
    autocast disabled, so bf16 autocast and bf16 features give the fp32 picks."""
    from etad_mmaction.models.samplers import farthest_point_sampling_batch
    b, n, c = 3, 400, 32
    x = torch.randn(b, n, c, generator=gen(9)) + 5.0        # offset: worse cancellation
    x = x.bfloat16().float()                                 # exactly representable in bf16
    firsts = torch.tensor([0, 17, 399])
    ref = farthest_point_sampling_batch(x, 40, firsts)
    for i in range(b):
        assert torch.equal(ref[i], farthest_point_sampling(x[i], 40, int(firsts[i])))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.equal(farthest_point_sampling_batch(x, 40, firsts), ref)
        for i in range(b):
            assert torch.equal(farthest_point_sampling(x[i], 40, int(firsts[i])), ref[i])
        sampler = FPSSampler(0.1, backend='torch', cpu_per_video=per_video)
        keys = torch.tensor([3, 4, 5])
        picks = sampler.sample_batch(keys, n, features=x)
        assert torch.equal(sampler.sample_batch(keys, n, features=x.bfloat16()), picks)
    assert torch.equal(FPSSampler(0.1, backend='torch').sample_batch(keys, n, features=x),
                       picks)
    assert torch.equal(farthest_point_sampling_batch(x.bfloat16(), 40, firsts), ref)
