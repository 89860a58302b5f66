"""Where the dataset tests' committed fixture files are (a unique module name:
other test folders have their own conftest.py). The file writers live in
``etad_mmaction.testing``."""
import json
import os.path as osp

import etad_mmaction  # noqa: F401  (registers the modules, applies compat)
from etad_mmaction.testing import official_gt, write_json, write_npy_features  # noqa: F401

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
