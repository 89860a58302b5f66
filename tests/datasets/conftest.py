"""Fixtures of the dataset tests; helpers live in tad_helpers.py."""

import pytest

import etad_mmaction  # noqa: F401  (registers the modules, applies compat)
from tad_helpers import official_gt, write_json, write_npy_features


@pytest.fixture
def small_anet(tmp_path):
    """Three videos (two training, one validation) with npy features."""
    videos = {
        'vidA': ('training', 100.0, [(10.0, 30.0, 'Jump'), (50.0, 90.0, 'Run')]),
        'vidB': ('training', 40.0, [(0.0, 40.0, 'Run')]),
        'vidC': ('validation', 60.0, [(5.0, 20.0, 'Jump')]),
    }
    ann = write_json(tmp_path / 'gt.json', official_gt(videos))
    feats = write_npy_features(str(tmp_path / 'feat'), {'vidA': 50, 'vidB': 13, 'vidC': 30}, 8)
    return dict(root=str(tmp_path), ann=ann, feats=feats, videos=videos,
                feat_dir=str(tmp_path / 'feat'))
