"""Shared helpers of the dataset tests (a unique module name: other test
folders have their own conftest.py)."""
import json
import os
import os.path as osp

import numpy as np
import pytest

import etad_mmaction  # noqa: F401  (registers the modules, applies compat)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED = osp.normpath(osp.join(REPO, '..', 'shared', 'data'))
ANET_ANNO = osp.join(SHARED, 'activitynet', 'anet_anno_action.json')
ANET_INFO = osp.join(SHARED, 'activitynet', 'video_info_new.csv')
ANET_CLASSES = osp.join(SHARED, 'activitynet', 'action_name.csv')
ANET_BLOCKED = osp.join(SHARED, 'activitynet', 'blocked.json')
THUMOS_ANNO = osp.join(SHARED, 'thumos14', 'thumos14.json')
MMA_FEATURES = osp.join(SHARED, 'mmaction2_features')

if os.environ.get('CI') and not osp.isdir(SHARED):  # CI always has ../shared: never skip there
    raise RuntimeError(f'{SHARED} missing in CI')
needs_shared = pytest.mark.skipif(not osp.isdir(SHARED),
                                  reason='../shared/data is not available')


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


