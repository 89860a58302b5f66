"""Detection AP / mAP: hand-computed cases, loop reference, official numbers."""
import os.path as osp
import warnings

import numpy as np
import pytest

from etad_mmaction.evaluation.functional import (
    ANET_TIOU_THRESHOLDS, THUMOS_TIOU_THRESHOLDS, average_precision_detection,
    get_tiou_thresholds, interpolated_prec_rec, load_ground_truth, load_predictions,
    map_summary, match_predictions, mean_average_precision, segment_iou)

TEST_DATA = osp.join(osp.dirname(__file__), 'data')


def det(label, score, s, e):
    return dict(label=label, score=score, segment=[s, e])


# ----------------------------------------------------------------------------- reference
def ref_iou(p, g):
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = (g[1] - g[0]) + (p[1] - p[0]) - inter
    return inter / union if union > 0 else 0.0


def ref_interp_ap(prec, rec):
    mprec = [0.0] + list(prec) + [0.0]
    mrec = [0.0] + list(rec) + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i]
               for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def ref_class_ap(gts, preds, thr):
    """Straightforward loops: gts [(vid, s, e)], preds [(vid, s, e, score)]."""
    order = sorted(range(len(preds)), key=lambda i: -preds[i][3])  # stable
    out = []
    for t in thr:
        if not preds:
            out.append(0.0)
            continue
        locked = [False] * len(gts)
        tp = []
        for i in order:
            v, s, e, _ = preds[i]
            cands = [(ref_iou((s, e), (g[1], g[2])), j) for j, g in enumerate(gts) if g[0] == v]
            cands.sort(key=lambda c: (-c[0], -c[1]))  # best tIoU, later gt on ties
            hit = False
            for iou, j in cands:
                if iou < t:
                    break
                if locked[j]:
                    continue
                locked[j] = hit = True
                break
            tp.append(hit)
        ctp = cfp = 0
        prec, rec = [], []
        for h in tp:
            ctp += h
            cfp += not h
            prec.append(ctp / (ctp + cfp))
            rec.append(ctp / len(gts))
        out.append(ref_interp_ap(prec, rec))
    return np.asarray(out)


def ref_map(gt, preds, thr):
    classes = []
    for v, anns in gt.items():
        for a in anns:
            if a[2] not in classes:
                classes.append(a[2])
    aps = []
    for c in classes:
        g = [(v, a[0], a[1]) for v, anns in gt.items() for a in anns if a[2] == c]
        p = [(v, d['segment'][0], d['segment'][1], d['score'])
             for v, ds in preds.items() for d in ds if d['label'] == c]
        aps.append(ref_class_ap(g, p, thr))
    return np.stack(aps, 1).mean(1)


# ----------------------------------------------------------------------------- hand cases
def test_protocol_thresholds():
    np.testing.assert_array_equal(get_tiou_thresholds('anet'), np.linspace(0.5, 0.95, 10))
    np.testing.assert_array_equal(get_tiou_thresholds('thumos'), np.linspace(0.3, 0.7, 5))
    np.testing.assert_array_equal(get_tiou_thresholds('anet', [0.1, 0.2]), [0.1, 0.2])
    assert len(ANET_TIOU_THRESHOLDS) == 10 and len(THUMOS_TIOU_THRESHOLDS) == 5
    with pytest.raises(ValueError):
        get_tiou_thresholds('coco')


def test_segment_iou_and_interpolation():
    np.testing.assert_allclose(segment_iou([0, 10], [[0, 10], [5, 15], [20, 30], [0, 5]]),
                               [1.0, 5 / 15, 0.0, 0.5])
    assert interpolated_prec_rec([1.0, 0.5, 2 / 3, 0.5], [0.5, 0.5, 1.0, 1.0]) == \
        pytest.approx(0.5 + 0.5 * 2 / 3)


def test_worked_example_with_ties():
    gt = {'a': [[0, 10, 'X'], [20, 30, 'X']]}
    preds = {'a': [det('X', 0.9, 0, 10),    # TP
                   det('X', 0.8, 0, 10),    # duplicate of gt 0 -> FP
                   det('X', 0.8, 20, 30),   # same score, later -> ranked after -> TP
                   det('X', 0.5, 50, 60)]}  # FP
    res = mean_average_precision(gt, preds, tiou_thresholds=[0.5])
    # ranks: TP FP TP FP -> precision 1, .5, .667, .5 at recall .5, .5, 1, 1
    assert res['mAP'][0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # with the tie the other way round (TP first) the AP would be 1
    preds['a'][1], preds['a'][2] = preds['a'][2], preds['a'][1]
    assert mean_average_precision(gt, preds, tiou_thresholds=[0.5])['mAP'][0] == 1.0


def test_thresholds_and_partial_overlap():
    gt = {'a': [[0, 10, 'X']]}
    preds = {'a': [det('X', 0.9, 0, 8)]}  # tIoU 0.8
    res = mean_average_precision(gt, preds, protocol='anet')
    expected = (ANET_TIOU_THRESHOLDS <= 0.8 + 1e-12).astype(float)
    np.testing.assert_array_equal(res['mAP'], expected)
    assert res['average_mAP'] == pytest.approx(expected.mean())
    summary = map_summary(res)
    assert list(summary)[:3] == ['mAP@0.50', 'mAP@0.55', 'mAP@0.60']
    assert summary['mAP@0.80'] == 1.0 and summary['mAP@0.85'] == 0.0
    assert summary['avg_mAP'] == pytest.approx(0.7)


def test_no_predictions_for_a_class_gives_zero():
    gt = {'a': [[0, 10, 'X']], 'b': [[5, 9, 'Z']]}
    preds = {'a': [det('X', 0.9, 0, 10)]}
    res = mean_average_precision(gt, preds, tiou_thresholds=[0.5, 0.7])
    assert res['classes'] == ['X', 'Z']
    np.testing.assert_array_equal(res['ap'], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(res['mAP'], [0.5, 0.5])
    empty = dict(video_ids=[], segments=np.zeros((0, 2)), scores=[])
    np.testing.assert_array_equal(average_precision_detection(
        dict(video_ids=['a'], segments=[[0, 1]]), empty, [0.5]), [0.0])


def test_label_without_ground_truth_is_ignored_with_one_warning():
    gt = {'a': [[0, 10, 'X']]}
    preds = {'a': [det('X', 0.5, 0, 10), det('Y', 0.9, 0, 10), det('Y', 0.8, 1, 9),
                   det('W', 0.95, 0, 10)]}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter('always')
        res = mean_average_precision(gt, preds, tiou_thresholds=[0.5])
    assert len(rec) == 1 and 'absent from the ground truth' in str(rec[0].message)
    assert res['num_ignored'] == 3
    assert res['classes'] == ['X'] and res['mAP'][0] == 1.0


def test_duplicate_detection_of_one_ground_truth():
    gt = {'a': [[0, 10, 'X']], 'b': [[0, 10, 'X']]}
    preds = {'a': [det('X', 0.9, 0, 10), det('X', 0.8, 0, 9)],  # second one: duplicate, FP
             'b': [det('X', 0.7, 0, 10)]}
    res = mean_average_precision(gt, preds, tiou_thresholds=[0.5])
    assert res['mAP'][0] == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_greedy_matching_prefers_highest_tiou_and_later_gt_on_ties():
    # p1 [2.5, 12.5] has tIoU 0.6 with both gts; the official reversed argsort
    # takes the later gt (B), so p2 = B is a duplicate (checked against the
    # official code: AP 0.5).
    gt = {'a': [[0, 10, 'X'], [5, 15, 'X']]}
    preds = {'a': [det('X', 0.9, 2.5, 12.5), det('X', 0.8, 5, 15)]}
    assert mean_average_precision(gt, preds, tiou_thresholds=[0.5])['mAP'][0] == 0.5
    # highest tIoU wins: p1 overlaps A most, so B stays free for p2
    preds = {'a': [det('X', 0.9, 1, 11), det('X', 0.8, 5, 15)]}
    assert mean_average_precision(gt, preds, tiou_thresholds=[0.5])['mAP'][0] == 1.0
    tp = match_predictions(['a', 'a'], [[0, 10], [5, 15]], ['a', 'a', 'b'],
                           [[2.5, 12.5], [5, 15], [5, 15]], [0.5])
    np.testing.assert_array_equal(tp, [[True, False, False]])


def test_blocked_videos_removed_from_gt_and_predictions():
    gt = {'a': [[0, 10, 'X']], 'blk': [[0, 10, 'X'], [20, 30, 'X']]}
    preds = {'a': [det('X', 0.9, 0, 10)], 'v_blk': [det('X', 0.95, 50, 60)]}
    assert mean_average_precision(gt, preds, tiou_thresholds=[0.5])['mAP'][0] < 1
    res = mean_average_precision(gt, preds, tiou_thresholds=[0.5], blocked=['v_blk'])
    assert res['mAP'][0] == 1.0


def test_v_prefix_matching():
    gt = {'v_abc': dict(segments=np.array([[0., 10.]]), labels=['X'])}
    preds = {'abc': [det('X', 0.9, 0, 10)], 'v_other': [det('X', 0.1, 0, 10)]}
    with pytest.warns(UserWarning, match=r"1 predictions of 1 video\(s\) absent.*'other'"):
        res = mean_average_precision(gt, preds, tiou_thresholds=[0.5])
    assert res['mAP'][0] == 1.0  # the unmatched video ranks last
    preds = {'v_abc': [det('X', 0.9, 0, 10)]}
    gt = {'abc': [[0, 10, 'X']]}
    assert mean_average_precision(gt, preds, tiou_thresholds=[0.5])['mAP'][0] == 1.0


def test_video_without_ground_truth_counts_false_positives():
    gt = {'a': [[0, 10, 'X']]}
    preds = {'a': [det('X', 0.5, 0, 10)], 'no_gt': [det('X', 0.9, 0, 10)]}
    with pytest.warns(UserWarning, match='count as false positives'):
        res = mean_average_precision(gt, preds, tiou_thresholds=[0.5])
    assert res['mAP'][0] == 0.5 and res['num_unknown_video_predictions'] == 1


def test_no_ground_truth_raises():
    with pytest.raises(ValueError, match='no ground-truth'):
        mean_average_precision({'a': []}, {'a': [det('X', 1, 0, 1)]})


# ----------------------------------------------------------------------------- random
def random_case(rng, num_videos, num_classes, ties):
    classes = [f'c{i}' for i in range(num_classes)]
    gt, preds = {}, {}
    for v in range(num_videos):
        vid = f'vid{v}'
        anns = []
        for _ in range(rng.integers(0, 5)):
            s = int(rng.integers(0, 40))
            anns.append([float(s), float(s + rng.integers(1, 20)),
                         classes[rng.integers(num_classes)]])
        gt[vid] = anns
        ds = []
        for a in anns:  # near-duplicates of the ground truth on an integer grid
            for _ in range(rng.integers(0, 4)):
                s = a[0] + int(rng.integers(-3, 4))
                ds.append([float(s), float(max(s + 1, a[1] + int(rng.integers(-3, 4))))])
        for _ in range(rng.integers(0, 6)):
            s = int(rng.integers(0, 50))
            ds.append([float(s), float(s + rng.integers(1, 15))])
        score = (lambda: float(rng.integers(0, 5)) / 4) if ties else (lambda: float(rng.random()))
        preds[vid] = [dict(label=classes[rng.integers(num_classes)], score=score(), segment=d)
                      for d in ds]
    return gt, preds


@pytest.mark.parametrize('seed', range(12))
def test_matches_loop_reference_on_random_data_with_ties(seed):
    rng = np.random.default_rng(seed)
    gt, preds = random_case(rng, num_videos=int(rng.integers(1, 8)),
                            num_classes=int(rng.integers(1, 4)), ties=seed % 3 != 0)
    if not any(gt.values()):
        gt['vid0'] = [[0.0, 5.0, 'c0']]
    # tIoU thresholds live in (0, 1]; 1e-12 is the edge: any overlap matches
    for thr in (ANET_TIOU_THRESHOLDS, THUMOS_TIOU_THRESHOLDS, np.array([1e-12, 0.25, 0.5])):
        ours = mean_average_precision(gt, preds, tiou_thresholds=thr)['mAP']
        np.testing.assert_allclose(ours, ref_map(gt, preds, thr), rtol=0, atol=1e-12)


def test_many_predictions_per_video():
    rng = np.random.default_rng(7)
    gt = {'v': [[float(s), float(s + 5), 'X'] for s in range(0, 200, 7)]}
    starts = rng.integers(0, 200, 300)
    preds = {'v': [det('X', float(rng.integers(0, 10)), float(s), float(s + rng.integers(3, 8)))
                   for s in starts]}
    thr = ANET_TIOU_THRESHOLDS
    np.testing.assert_allclose(mean_average_precision(gt, preds, thr)['mAP'],
                               ref_map(gt, preds, thr), atol=1e-12)


def test_equals_official_code_numbers():
    """Numbers produced by the official ActivityNet code (eval_detection.py) on these files."""
    gt = load_ground_truth(osp.join(TEST_DATA, 'xcheck_gt.json'), subset='validation')
    preds = load_predictions(osp.join(TEST_DATA, 'xcheck_pred.json'))
    # vid07 is not in the validation subset: false positives, as in the official code
    anet = mean_average_precision(gt, preds, protocol='anet', warn=False)
    assert anet['unknown_videos'] == ['vid07']
    np.testing.assert_allclose(anet['mAP'], [
        0.46006800026407874, 0.46006800026407874, 0.44046015712682385, 0.44046015712682385,
        0.3384734093067427, 0.1782051282051282, 0.10663580246913579, 0.022222222222222223,
        0.011111111111111112, 0.0], atol=1e-9)
    assert anet['average_mAP'] == pytest.approx(0.2457703988096145, abs=1e-9)
    thumos = mean_average_precision(gt, preds, protocol='thumos', warn=False)
    np.testing.assert_allclose(thumos['mAP'], [
        0.46006800026407874, 0.46006800026407874, 0.46006800026407874, 0.44046015712682385,
        0.3384734093067427], atol=1e-9)
    assert thumos['average_mAP'] == pytest.approx(0.4318275134451605, abs=1e-9)
