"""Shared by every test: tools are loaded from this checkout's ``tools/`` (whatever
``etad_mmaction`` is imported from), and the packages ``mim`` is tested with."""
import os
import os.path as osp

import pytest

from etad_mmaction.testing import TOOLS_ENV

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
os.environ.setdefault(TOOLS_ENV, osp.join(REPO_ROOT, 'tools'))

# openmim and its dependency closure, installed --no-deps (docs/getting_started.md's recipe)
MIM_PACKAGES = ['openmim==0.3.9', 'model-index', 'ordered-set', 'markdown', 'tabulate',
                'colorama', 'setuptools<81', 'pandas', 'pytz', 'python-dateutil', 'tzdata',
                'requests', 'urllib3', 'charset-normalizer', 'idna', 'certifi', 'click',
                'rich', 'markdown-it-py', 'mdurl', 'pygments']


@pytest.fixture(scope='session')
def mim_packages():
    return list(MIM_PACKAGES)
