"""tools/analysis/bmn_baseline.py without training: the stock BMN config pointed at a
synthetic dataset, and BMN proposals scored with ETAD's class assignment and mAP."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

import etad_mmaction  # noqa: F401
from etad_mmaction.datasets.synthetic import ensure_synthetic_dataset
from etad_mmaction.testing import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
bmn_baseline = load_tool('analysis/bmn_baseline.py')


@pytest.fixture(scope='module')
def etad_cfg(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('bmn') / 'data')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'etad',
                                   'etad_1xb16-6e_synthetic-anet-feature.py'))
    synthetic = dict(num_train=6, num_val=4, num_classes=5, feature_dim=400, seed=0)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.update(data_root=root, synthetic=synthetic)
    ensure_synthetic_dataset(root, progress=False, **synthetic)
    return cfg


def test_stock_config_points_at_the_synthetic_videos(etad_cfg, tmp_path):
    cfg, out = bmn_baseline.build_bmn_cfg(etad_cfg, str(tmp_path), batch=16, epochs=9,
                                          workers=0)
    root = osp.abspath(etad_cfg.train_dataloader.dataset.data_root)
    assert cfg.model.type == 'BMN' and cfg.model.temporal_dim == 100
    assert cfg.train_dataloader.batch_size == 16 and cfg.train_cfg.max_epochs == 9
    assert cfg.train_dataloader.dataset.ann_file == osp.join(root, 'mmaction2',
                                                             'anet_anno_train.json')
    assert osp.isdir(cfg.test_dataloader.dataset.data_prefix['video'])
    assert cfg.val_dataloader is None and out.endswith('bmn_proposals.json')


def test_perfect_proposals_score_full_map(etad_cfg, tmp_path):
    """Ground-truth segments as BMN proposals and a classifier that ranks each video's
    true classes first: every detection is right, mAP is 1."""
    root = osp.abspath(etad_cfg.val_dataloader.dataset.data_root)
    gt = json.load(open(osp.join(root, 'gt.json')))['database']
    props = {f'v_{vid}': [dict(segment=a['segment'], score=1.0) for a in v['annotations']]
             for vid, v in gt.items() if v['subset'] == 'validation'}
    path = str(tmp_path / 'props.json')
    json.dump(dict(results=props), open(path, 'w'))
    clf_path = osp.join(root, 'classifier.json')
    clf = json.load(open(clf_path))
    for vid, v in gt.items():
        if v['subset'] == 'validation':
            labels = {a['label'] for a in v['annotations']}
            assert len(labels) <= 2             # top_k_classes=2 can name them all
            clf['results'][vid] = [float(c in labels) for c in clf['class']]
    json.dump(clf, open(clf_path, 'w'))
    res = bmn_baseline.detection_map(etad_cfg, path)
    assert res['avg_mAP'] == pytest.approx(1.0)
    del props[next(iter(props))]
    json.dump(dict(results=props), open(path, 'w'))
    with pytest.raises(KeyError, match='no proposals'):
        bmn_baseline.detection_map(etad_cfg, path)


def test_numpy_trapz_for_mmaction_ar_an():
    """The stock BMN config's AR@AN calls ``np.trapz`` (gone in NumPy 2.4)."""
    import numpy as np
    from mmaction.evaluation.functional import average_recall_at_avg_proposals
    bmn_baseline.numpy_trapz_for_mmaction()
    gt = {'v1': np.array([[0.0, 10.0]])}
    props = {'v1': np.array([[0.0, 10.0, 0.9], [20.0, 30.0, 0.5]])}
    *_, auc = average_recall_at_avg_proposals(gt, props, 1, max_avg_proposals=2,
                                              temporal_iou_thresholds=np.array([0.5]))
    assert float(auc) > 0
