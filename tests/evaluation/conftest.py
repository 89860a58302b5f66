import json
import os.path as osp

import pytest

from etad_mmaction.testing import write_json

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TEST_DATA = osp.join(osp.dirname(__file__), 'data')
# Subsets of the real annotation files, committed with the tests (tests/data/README.md).
REAL_DATA = osp.join(REPO_ROOT, 'tests', 'data')


@pytest.fixture
def real_data():
    """``tests/data``: the real annotation subsets, with their counts."""
    with open(osp.join(REAL_DATA, 'counts.json')) as f:
        counts = json.load(f)
    return REAL_DATA, counts


@pytest.fixture
def small_pair(tmp_path):
    def video(subset, *anns):
        return dict(subset=subset, duration=50,
                    annotations=[dict(segment=s, label=lab) for s, lab in anns])
    db = {'a': video('validation', ([0, 10], 'X'), ([20, 30], 'X')),
          'b': video('validation', ([5, 15], 'Y')),
          'c': video('training', ([5, 15], 'Z'))}
    gt = write_json(tmp_path / 'gt.json', dict(version='1.3', taxonomy=[], database=db))
    res = {'v_a': [dict(label='X', score=0.9, segment=[0, 10]),
                   dict(label='X', score=0.8, segment=[0, 10]),
                   dict(label='X', score=0.8, segment=[20, 30]),
                   dict(label='X', score=0.5, segment=[50, 60])],
           'b': [dict(label='Y', score=0.7, segment=[5, 13])]}  # tIoU 0.8
    pred = write_json(tmp_path / 'pred.json', dict(version='1.3', results=res, external_data={}))
    return gt, pred
