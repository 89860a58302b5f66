import os
import os.path as osp

import pytest

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SHARED_DATA = osp.abspath(osp.join(REPO_ROOT, '..', 'shared', 'data'))
TEST_DATA = osp.join(osp.dirname(__file__), 'data')


@pytest.fixture
def shared_data():
    """``../shared/data`` relative to the repository root. Skips only outside CI when
    it is absent; in CI (``CI`` set), where it always exists, its absence fails."""
    if not osp.isdir(SHARED_DATA):
        if os.environ.get('CI'):
            pytest.fail(f'{SHARED_DATA} missing in CI')
        pytest.skip(f'{SHARED_DATA} not available')
    return SHARED_DATA
