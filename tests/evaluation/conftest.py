import json
import os.path as osp

import pytest

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
