"""TADMetric with fake data samples."""
import contextlib
import json
import logging
import warnings

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

import etad_mmaction  # noqa: F401  (registers TADMetric)
from etad_mmaction.evaluation import TADMetric
from etad_mmaction.evaluation.functional import load_predictions
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample

CLASSES = ['A', 'B', 'C']


@contextlib.contextmanager
def logged_messages():
    """The messages of MMEngine's current logger while the block runs."""
    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Grab()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def sample(video, segments, scores, gt_video, duration=100.0, classifier_scores=None,
           as_tensor=True, to_dict=False):
    ds = ActionDataSample()
    meta = dict(video_name=video, duration=duration, gt_video=gt_video)
    if classifier_scores is not None:
        meta['classifier_scores'] = np.asarray(classifier_scores, dtype=np.float32)
    ds.set_metainfo(meta)
    conv = (lambda x: torch.tensor(x, dtype=torch.float32)) if as_tensor else np.asarray
    ds.pred_instances = InstanceData(segments=conv(segments).reshape(-1, 2),
                                     scores=conv(scores).reshape(-1))
    return ds.to_dict() if to_dict else ds


# two videos, windows [0, 60] and [40, 100]; gts inside windows or in the overlap
GT1 = [[10.0, 20.0, 'A'], [45.0, 55.0, 'A'], [80.0, 90.0, 'A']]
GT2 = [[5.0, 30.0, 'B'], [70.0, 95.0, 'B']]


def windowed_samples(classifier=True, **kw):
    c1 = [0.9, 0.05, 0.05] if classifier else None
    c2 = [0.1, 0.8, 0.1] if classifier else None
    return [
        # video 1: window 0 sees gts 0, 1; window 1 sees gts 1, 2 -> gt 1 twice
        sample('v_vid1', [[10, 20], [45, 55]], [1.0, 1.0], GT1, classifier_scores=c1, **kw),
        sample('v_vid1', [[45, 55], [80, 90]], [1.0, 1.0], GT1, classifier_scores=c1,
               as_tensor=False, **{k: v for k, v in kw.items() if k != 'as_tensor'}),
        sample('vid2', [[5, 30]], [0.9], GT2, classifier_scores=c2, **kw),
        sample('vid2', [[70, 95]], [0.9], GT2, classifier_scores=c2, **kw),
    ]


def run(metric, samples):
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def test_build_from_registry():
    m = METRICS.build(dict(type='TADMetric', protocol='thumos', top_k_classes=1))
    assert isinstance(m, TADMetric) and m.top_k_classes == 1
    assert len(m.tiou_thresholds) == 5


@pytest.mark.parametrize('nms', [None, 'soft_nms', 'nms'])
def test_perfect_windows_merge_to_perfect_map(nms):
    cfg = dict(type='TADMetric')
    if nms == 'nms':
        cfg['nms_cfg'] = dict(type='nms', iou_threshold=0.5)
    elif nms is None:
        cfg['nms_cfg'] = None
    metric = METRICS.build(cfg)
    metric.dataset_meta = dict(classes=CLASSES)
    out = run(metric, windowed_samples())
    keys = [f'mAP@{t:.2f}' for t in np.linspace(0.5, 0.95, 10)] + ['avg_mAP']
    assert list(out) == keys
    if nms is None:  # the duplicate of gt 1 ties with the true positives
        assert out['avg_mAP'] < 1.0
    else:
        assert all(v == pytest.approx(1.0) for v in out.values())


def test_dict_samples_and_dump(tmp_path):
    dump = tmp_path / 'out' / 'results.json'
    metric = TADMetric(dump_file=str(dump), protocol='thumos')
    metric.dataset_meta = dict(classes=CLASSES)
    out = run(metric, windowed_samples(to_dict=True))
    assert list(out) == ['mAP@0.30', 'mAP@0.40', 'mAP@0.50', 'mAP@0.60', 'mAP@0.70', 'avg_mAP']
    assert out['avg_mAP'] == pytest.approx(1.0)
    raw = json.loads(dump.read_text())
    assert set(raw) == {'version', 'results', 'external_data'}
    preds = load_predictions(str(dump))
    assert list(preds) == ['vid1', 'vid2']
    # soft-NMS keeps the decayed duplicate; top-2 classes per proposal
    assert len(preds['vid1']) == 2 * 4 and len(preds['vid2']) == 2 * 2
    top = preds['vid2'][0]
    assert top['label'] == 'B' and top['score'] == pytest.approx(0.9 * 0.8)


def test_class_scores_matter():
    metric = TADMetric(top_k_classes=1)
    metric.dataset_meta = dict(classes=CLASSES)
    samples = windowed_samples()
    for s in samples[2:]:  # video 2 classified as C: its detections are wrong
        s.set_metainfo(dict(classifier_scores=np.array([0.1, 0.1, 0.8])))
    with logged_messages() as records, warnings.catch_warnings():
        warnings.simplefilter('error')  # one log line per validation, no UserWarning
        out = run(metric, samples)
    assert out['avg_mAP'] == pytest.approx(0.5)  # A perfect, B zero (C has no gt)
    assert any('detections with labels absent from the ground truth ignored' in r
               for r in records)
    assert any('mean over the 2 classes with ground truth' in r for r in records)


def test_class_agnostic_path():
    metric = TADMetric()
    out = run(metric, windowed_samples(classifier=False))
    assert out['avg_mAP'] == pytest.approx(1.0)


def test_mixed_classifier_scores_rejected():
    metric = TADMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    samples = windowed_samples()
    samples[2] = sample('vid2', [[5, 30]], [0.9], GT2)
    samples[3] = sample('vid2', [[70, 95]], [0.9], GT2)
    with pytest.raises(ValueError, match='classifier_scores'):
        run(metric, samples)


def test_video_without_gt_and_blocked(tmp_path):
    metric = TADMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    samples = windowed_samples() + [
        sample('extra', [[0, 10]], [1.0], [], classifier_scores=[0.95, 0.05, 0.0])]
    out = run(metric, samples)
    assert out['avg_mAP'] < 1.0  # its detections are false positives of class A
    blocked = tmp_path / 'blocked.json'
    blocked.write_text(json.dumps(['v_extra']))
    metric = TADMetric(blocked_file=str(blocked))
    metric.dataset_meta = dict(classes=CLASSES)
    assert run(metric, samples)['avg_mAP'] == pytest.approx(1.0)


def test_ann_file_instead_of_samples(tmp_path):
    db = {'vid1': dict(subset='validation', duration=100,
                       annotations=[dict(segment=g[:2], label=g[2]) for g in GT1]),
          'vid2': dict(subset='validation', duration=100,
                       annotations=[dict(segment=g[:2], label=g[2]) for g in GT2]),
          'vid3': dict(subset='training', duration=100,
                       annotations=[dict(segment=[0, 5], label='C')])}
    ann = tmp_path / 'gt.json'
    ann.write_text(json.dumps(dict(version='1.3', taxonomy=[], database=db)))
    metric = TADMetric(ann_file=str(ann), subset='validation')
    metric.dataset_meta = dict(classes=CLASSES)
    samples = windowed_samples()
    for s in samples:
        s.set_metainfo(dict(gt_video=None))
    assert run(metric, samples)['avg_mAP'] == pytest.approx(1.0)
    metric = TADMetric(ann_file=str(ann))  # all subsets: gt of vid3 is missed
    metric.dataset_meta = dict(classes=CLASSES)
    assert run(metric, samples)['avg_mAP'] == pytest.approx(2 / 3)


def test_proposal_metric():
    metric = TADMetric(metric_type='proposal', tiou_thresholds=[0.5, 0.7])
    out = run(metric, windowed_samples(classifier=False))
    assert list(out) == ['AR@1', 'AR@5', 'AR@10', 'AR@100', 'AUC']
    assert out['AR@100'] == pytest.approx(1.0)
    assert 0 < out['AR@1'] <= out['AR@5'] <= 1 and 0 < out['AUC'] <= 1


def test_int_labels_in_gt_video_and_top_k():
    metric = TADMetric(top_k=1, top_k_classes=1, nms_cfg=None)
    metric.dataset_meta = dict(classes=CLASSES)
    s = sample('x', [[0, 10], [20, 30]], [0.2, 0.9], [[20, 30, 1], [0, 10, 1]],
               classifier_scores=[0.0, 1.0, 0.0])
    out = run(metric, [s])
    # one detection kept (the best); recall 1/2 -> AP 0.5 at every threshold
    assert out['avg_mAP'] == pytest.approx(0.5)


def test_evaluate_logs_table():
    metric = TADMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    with logged_messages() as records:
        metric.process(None, windowed_samples())
        out = metric.evaluate(size=4)
    assert out['avg_mAP'] == pytest.approx(1.0)
    table = [r for r in records if 'mAP (%)' in r]
    assert table and '0.75' in table[0] and 'Avg' in table[0] and '0.55' not in table[0]
