"""A built dataset item matches the sample contract of docs/architecture.md
exactly (keys, shapes, dtypes), for whole-video and windowed datasets."""
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from etad_mmaction.datasets import generate_synthetic_dataset
from etad_mmaction.datasets.transforms import CONTRACT_META_KEYS

NUM_CLASSES, DIM = 5, 12


@pytest.fixture(scope='module')
def syn_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('contract') / 'syn')
    return generate_synthetic_dataset(root, num_train=6, num_val=4, num_classes=NUM_CLASSES,
                                      feature_dim=DIM, seconds_per_feature=0.5,
                                      progress=False)


def check_item(item, ds, idx, num_snippets, with_classifier, windowed=False):
    assert set(item) == {'inputs', 'data_samples'}
    x = item['inputs']
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert tuple(x.shape) == (DIM, num_snippets)
    s = item['data_samples']
    assert isinstance(s, ActionDataSample)
    assert set(s.keys()) == {'gt_instances'}
    gt = s.gt_instances
    assert isinstance(gt, InstanceData)
    assert set(gt.keys()) == {'segments', 'labels'}
    assert gt.segments.dtype == torch.float32 and gt.segments.ndim == 2
    assert gt.segments.shape[1] == 2
    assert gt.labels.dtype == torch.int64 and gt.labels.shape == (len(gt.segments),)
    seg = gt.segments.numpy()
    assert np.all(seg[:, 0] >= 0) and np.all(seg[:, 0] < seg[:, 1])
    assert np.all(seg[:, 1] <= num_snippets)
    assert np.all((gt.labels.numpy() >= 0) & (gt.labels.numpy() < NUM_CLASSES))
    expected = set(CONTRACT_META_KEYS) if with_classifier else \
        set(CONTRACT_META_KEYS) - {'classifier_scores'}
    meta = s.metainfo
    assert set(meta) == expected
    assert isinstance(meta['video_name'], str) and not meta['video_name'].startswith('v_')
    assert type(meta['sample_idx']) is int and meta['sample_idx'] == idx
    assert type(meta['num_snippets']) is int and meta['num_snippets'] == num_snippets
    for key in ('duration', 'window_start', 'snippet_seconds'):
        assert type(meta[key]) is float
    if not windowed:
        assert meta['window_start'] == 0.0
        assert meta['snippet_seconds'] == pytest.approx(meta['duration'] / num_snippets)
    assert isinstance(meta['gt_video'], list)
    classes = ds.metainfo['classes']
    for entry in meta['gt_video']:
        assert len(entry) == 3 and type(entry[0]) is float and type(entry[1]) is float
        assert entry[2] in classes and 0 <= entry[0] < entry[1] <= meta['duration']
    if with_classifier:
        cs = meta['classifier_scores']
        assert isinstance(cs, np.ndarray) and cs.dtype == np.float32
        assert cs.shape == (NUM_CLASSES,)
    # predictions map back to seconds inside the video
    back = meta['window_start'] + seg * meta['snippet_seconds']
    assert np.all(back >= -1e-4) and np.all(back <= meta['duration'] + 1e-3)


@pytest.mark.parametrize('num_snippets', [64, 128])
def test_activitynet_contract(syn_root, num_snippets):
    common = dict(type='ActivityNetFeatureDataset', data_root=syn_root, ann_file='gt.json',
                  data_prefix=dict(feature='features'), feature_dim=DIM,
                  num_snippets=num_snippets)
    train = DATASETS.build(dict(common, subset='training'))
    val = DATASETS.build(dict(common, subset='validation', test_mode=True,
                              classifier_file='classifier.json'))
    assert train.metainfo['classes'] == tuple(f'action_{i:03d}' for i in range(NUM_CLASSES))
    for ds, with_cls in ((train, False), (val, True)):
        for idx in range(len(ds)):
            check_item(ds[idx], ds, idx, num_snippets, with_cls)
    batch = pseudo_collate([val[0], val[1]])
    assert len(batch['inputs']) == 2 and len(batch['data_samples']) == 2


def test_thumos_contract(syn_root):
    ds = DATASETS.build(dict(type='ThumosFeatureDataset', data_root=syn_root,
                             ann_file='gt.json', data_prefix=dict(feature='features'),
                             subset='validation', feature_dim=DIM, test_mode=True,
                             window_size=32, window_stride=16, snippet_stride=15, fps=30,
                             classifier_file='classifier.json'))
    assert len(ds) > 4
    for idx in range(len(ds)):
        item = ds[idx]
        check_item(item, ds, idx, 32, True, windowed=True)
        s = item['data_samples']
        assert s.snippet_seconds == pytest.approx(0.5)
