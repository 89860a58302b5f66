"""Shared helpers of the dataset tests (a unique module name: other test
folders have their own conftest.py)."""
import json
import os
import os.path as osp

import numpy as np

import etad_mmaction  # noqa: F401  (registers the modules, applies compat)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Subsets of the real annotation files and two real videos, committed with the tests
# (tests/data/README.md); the suite never needs ../shared.
TEST_DATA = osp.join(REPO, 'tests', 'data')
ANET_ANNO = osp.join(TEST_DATA, 'activitynet', 'anet_anno_action.json')
ANET_INFO = osp.join(TEST_DATA, 'activitynet', 'video_info_new.csv')
ANET_CLASSES = osp.join(TEST_DATA, 'activitynet', 'action_name.csv')
ANET_BLOCKED = osp.join(TEST_DATA, 'activitynet', 'blocked.json')
THUMOS_ANNO = osp.join(TEST_DATA, 'thumos14', 'thumos14.json')
MMA_FEATURES = osp.join(TEST_DATA, 'mmaction2_features')
VIDEOS = osp.join(TEST_DATA, 'videos')
with open(osp.join(TEST_DATA, 'counts.json')) as _f:
    COUNTS = json.load(_f)  # videos / instances / classes per subset of the subsets


def write_json(path, obj):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def official_gt(videos, classes=None):
    """videos: {id: (subset, duration, [(s, e, label), ...])}."""
    db = {vid: {'subset': sub, 'duration': dur,
                'annotations': [{'segment': [s, e], 'label': lab} for s, e, lab in anns]}
          for vid, (sub, dur, anns) in videos.items()}
    out = {'version': 'test', 'database': db}
    if classes is not None:
        out['classes'] = classes
    return out


def write_npy_features(folder, lengths, dim, seed=0, prefix='v_'):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    feats = {}
    for vid, length in lengths.items():
        f = rng.standard_normal((length, dim)).astype(np.float32)
        np.save(osp.join(folder, f'{prefix}{vid}.npy'), f)
        feats[vid] = f
    return feats


