"""AR@AN and class assignment."""
import os.path as osp

import numpy as np
import pytest

from etad_mmaction.evaluation.functional import (
    assign_classes, average_recall_at_avg_proposals, load_ground_truth, load_predictions)

TEST_DATA = osp.join(osp.dirname(__file__), 'data')


def prop(score, s, e):
    return dict(score=score, segment=[s, e])


def test_ar_an_hand_case():
    gt = {'a': [[0, 10, 'X']], 'b': [[20, 30, 'Y']]}
    props = {'a': [prop(0.9, 0, 10), prop(0.8, 50, 60)],   # found at rank 1
             'b': [prop(0.9, 50, 60), prop(0.8, 20, 30)]}  # found at rank 2
    r = average_recall_at_avg_proposals(gt, props, max_avg_proposals=2, ar_at=(1, 2))
    np.testing.assert_allclose(r['proposals_per_video'], np.arange(1, 101) / 50)
    # AN < 1: nothing retrieved; 1 <= AN < 2: video a; AN = 2: both
    expected = np.where(np.arange(1, 101) < 50, 0.0, 0.5)
    expected[-1] = 1.0
    np.testing.assert_allclose(r['avg_recall'], expected)
    assert r['AR@1'] == 0.5 and r['AR@2'] == 1.0
    assert r['AUC'] == pytest.approx((0.02 * 0.25 + 49 * 0.02 * 0.5 + 0.02 * 0.75) / 2)


def test_ar_thresholds_and_missing_video():
    gt = {'a': [[0, 10, 'X']], 'b': [[0, 10, 'X']]}
    props = {'a': [prop(1.0, 0, 8)]}  # tIoU 0.8; video b has no proposals
    r = average_recall_at_avg_proposals(gt, props, max_avg_proposals=1, ar_at=(1,))
    # thresholds 0.5..0.8 (7 of 10) recall 1 of 2 gts
    assert r['AR@1'] == pytest.approx(7 / 10 * 0.5)


def ref_ar(gt, props, max_avg, thr):
    """Loop version of the official average_recall_vs_avg_nr_proposals."""
    videos = [v for v, anns in gt.items() if anns]
    total = sum(len(p) for p in props.values())
    ratio = max_avg * len(videos) / total
    scores, kept_total = [], 0
    for v in videos:
        ps = sorted(props.get(v, []), key=lambda p: -p['score'])
        if not ps:
            scores.append(np.zeros((len(gt[v]), 1)))
            continue
        n = min(int(len(ps) * ratio), len(ps))
        kept_total += n
        m = np.zeros((len(gt[v]), n))
        for i, g in enumerate(gt[v]):
            for j, p in enumerate(ps[:n]):
                s, e = p['segment']
                inter = max(0.0, min(e, g[1]) - max(s, g[0]))
                m[i, j] = inter / ((g[1] - g[0]) + (e - s) - inter)
        scores.append(m)
    pcn = np.arange(1, 101) / 100.0 * (max_avg * float(len(videos)) / kept_total)
    recall = np.zeros((len(thr), 100))
    for t, th in enumerate(thr):
        for j in range(100):
            hits = 0
            for m in scores:
                k = min(int(m.shape[1] * pcn[j]), m.shape[1])
                hits += int(((m[:, :k] >= th).sum(1) > 0).sum())
            recall[t, j] = hits / sum(m.shape[0] for m in scores)
    return recall


@pytest.mark.parametrize('seed', range(4))
def test_ar_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    gt, props = {}, {}
    for v in range(6):
        gt[f'v{v}'] = [[float(s), float(s + rng.integers(2, 15)), 'X']
                       for s in rng.integers(0, 50, rng.integers(0, 4))]
        if rng.random() < 0.85:
            props[f'v{v}'] = [prop(float(rng.random()), float(s), float(s + rng.integers(1, 20)))
                              for s in rng.integers(0, 50, rng.integers(1, 30))]
    if not any(gt.values()):
        gt['v0'] = [[0.0, 5.0, 'X']]
    thr = np.linspace(0.5, 0.95, 10)
    for max_avg in (3, 10):
        r = average_recall_at_avg_proposals(gt, props, max_avg_proposals=max_avg)
        np.testing.assert_allclose(r['recall'], ref_ar(gt, props, max_avg, thr), atol=1e-12)


def test_ar_equals_official_code_numbers():
    """Values of the official eval_proposal.py (max_avg_nr_proposals=10) on these files."""
    gt = load_ground_truth(osp.join(TEST_DATA, 'xcheck_gt.json'), subset='validation')
    props = load_predictions(osp.join(TEST_DATA, 'xcheck_pred.json'))
    r = average_recall_at_avg_proposals(gt, props, max_avg_proposals=10)
    np.testing.assert_allclose(r['avg_recall'][[9, 49, 99]],
                               [0.15333333333333332, 0.42666666666666664, 0.6133333333333334],
                               atol=1e-12)
    assert r['AUC'] == pytest.approx(0.42186666666666667, abs=1e-12)
    assert r['AR@1'] == r['avg_recall'][9] and r['AR@10'] == r['avg_recall'][99]
    assert 'AR@100' not in r  # beyond the largest AN


def test_assign_classes_top_k_product():
    segs = np.array([[0.0, 1.0], [2.0, 3.0]])
    dets = assign_classes(segs, [0.5, 1.0], np.array([0.1, 0.6, 0.3]), ['a', 'b', 'c'], top_k=2)
    assert [(d['label'], d['score'], d['segment']) for d in dets] == [
        ('b', pytest.approx(0.3), [0.0, 1.0]), ('c', pytest.approx(0.15), [0.0, 1.0]),
        ('b', pytest.approx(0.6), [2.0, 3.0]), ('c', pytest.approx(0.3), [2.0, 3.0])]
    assert len(assign_classes(segs, [0.5, 1.0], [0.1, 0.6, 0.3], ['a', 'b', 'c'], top_k=5)) == 6


def test_assign_classes_agnostic_and_tensors():
    torch = pytest.importorskip('torch')
    dets = assign_classes(torch.tensor([[0.0, 1.0]]), torch.tensor([0.7]))
    assert dets == [dict(label='action', score=pytest.approx(0.7), segment=[0.0, 1.0])]
    with pytest.raises(ValueError):
        assign_classes([[0, 1]], [1.0], [0.5, 0.5], ['a'])
    with pytest.raises(ValueError):
        assign_classes([[0, 1]], [1.0], [0.5, 0.5])
