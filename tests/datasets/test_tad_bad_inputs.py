"""Bad input: errors name the video and the path; repaired ground truth warns."""
import os

import numpy as np
import pytest

from etad_mmaction.datasets import (ActivityNetFeatureDataset, FeatureError,
                                    MissingVideoError, TADAnnotationWarning,
                                    ThumosFeatureDataset)

from tad_helpers import official_gt, write_json, write_npy_features


def _dataset(small_anet, **kw):
    args = dict(ann_file=small_anet['ann'], data_prefix=dict(feature=small_anet['feat_dir']))
    args.update(kw)
    return ActivityNetFeatureDataset(**args)


def test_missing_feature_file(small_anet):
    os.remove(os.path.join(small_anet['feat_dir'], 'v_vidB.npy'))
    with pytest.raises(FileNotFoundError) as err:
        _dataset(small_anet)
    msg = str(err.value)
    assert 'vidB' in msg and os.path.join(small_anet['feat_dir'], 'v_vidB.npy') in msg


def test_missing_feature_file_after_init(small_anet):
    ds = _dataset(small_anet)
    path = os.path.join(small_anet['feat_dir'], 'v_vidA.npy')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match='vidA') as err:
        ds[0]
    assert path in str(err.value)


def test_missing_h5_key(small_anet, tmp_path):
    import h5py
    h5 = str(tmp_path / 'f.h5')
    with h5py.File(h5, 'w') as f:
        f.create_dataset('vidA', data=small_anet['feats']['vidA'])
    with pytest.raises(FileNotFoundError) as err:
        _dataset(small_anet, data_prefix=dict(feature=h5))
    assert 'vidB' in str(err.value) and h5 in str(err.value)


def test_feature_dim_mismatch(small_anet):
    ds = _dataset(small_anet, feature_dim=16)
    with pytest.raises(FeatureError) as err:
        ds[1]
    msg = str(err.value)
    assert 'vidB' in msg and 'v_vidB.npy' in msg and '16' in msg and '8' in msg


def test_feature_dim_mismatch_thumos_at_init(tmp_path):
    ann = write_json(tmp_path / 't.json', official_gt({'vid1': ('validation', 30.0,
                                                                 [(1.0, 5.0, 'A')])}))
    write_npy_features(str(tmp_path / 'feat'), {'vid1': 200}, 8, prefix='')
    with pytest.raises(FeatureError) as err:
        ThumosFeatureDataset(ann_file=ann, data_prefix=dict(feature=str(tmp_path / 'feat')),
                             feature_dim=2048)
    assert 'vid1' in str(err.value) and str(tmp_path / 'feat' / 'vid1.npy') in str(err.value)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_nan_inf(small_anet, bad):
    path = os.path.join(small_anet['feat_dir'], 'v_vidC.npy')
    f = np.load(path)
    f[7, 3] = bad
    np.save(path, f)
    ds = _dataset(small_anet)
    with pytest.raises(FeatureError) as err:
        ds[2]
    assert 'vidC' in str(err.value) and path in str(err.value) and 'NaN/Inf' in str(err.value)


def test_video_missing_from_classifier(small_anet, tmp_path):
    cls = write_json(tmp_path / 'cls.json', {'results': {'vidA': [0.1, 0.9], 'vidB': [1, 0]},
                                             'class': ['Jump', 'Run']})
    with pytest.raises(MissingVideoError) as err:
        _dataset(small_anet, classifier_file=cls)
    assert 'vidC' in str(err.value) and cls in str(err.value)


def test_clipping_and_zero_length_warnings(tmp_path):
    videos = {
        'clipme': ('training', 100.0, [(-5.0, 20.0, 'A'), (90.0, 120.0, 'A')]),
        'zero': ('training', 50.0, [(10.0, 10.0, 'A')]),
        'mixed': ('training', 50.0, [(10.0, 10.0, 'A'), (5.0, 40.0, 'A')]),
    }
    ann = write_json(tmp_path / 'gt.json', official_gt(videos))
    feat = str(tmp_path / 'feat')
    write_npy_features(feat, {'clipme': 20, 'zero': 20, 'mixed': 20}, 4)
    with pytest.warns(TADAnnotationWarning) as rec:
        ds = ActivityNetFeatureDataset(ann_file=ann, data_prefix=dict(feature=feat))
    messages = ' | '.join(str(w.message) for w in rec)
    assert 'clipped' in messages and 'clipme' in messages
    assert 'zero-length' in messages and 'zero' in messages and 'mixed' in messages
    names = [ds.get_data_info(i)['video_name'] for i in range(len(ds))]
    assert names == ['clipme', 'mixed']  # 'zero' has no segment left: skipped for training
    s = ds[0]['data_samples']
    assert np.allclose(s.gt_instances.segments.numpy(), [[0, 25.6], [115.2, 128]], atol=1e-4)
    assert s.gt_video == [[0.0, 20.0, 'A'], [90.0, 100.0, 'A']]
    assert len(ds[1]['data_samples'].gt_instances.segments) == 1
    with pytest.warns(TADAnnotationWarning):
        test = ActivityNetFeatureDataset(ann_file=ann, data_prefix=dict(feature=feat),
                                         test_mode=True)
    assert len(test) == 3  # kept for evaluation
    assert test[1]['data_samples'].gt_instances.segments.shape == (0, 2)


def test_unknown_label_and_bad_duration(tmp_path):
    ann = write_json(tmp_path / 'gt.json', official_gt({'v1': ('training', 10.0,
                                                               [(1.0, 2.0, 'Mystery')])}))
    write_npy_features(str(tmp_path / 'feat'), {'v1': 5}, 4)
    with pytest.raises(ValueError, match="'v1'.*'Mystery'"):
        ActivityNetFeatureDataset(ann_file=ann, data_prefix=dict(feature=str(tmp_path / 'feat')),
                                  classes=['A', 'B'])
    ann2 = write_json(tmp_path / 'gt2.json', official_gt({'v1': ('training', 0.0, [])}))
    with pytest.raises(ValueError, match="'v1'"):
        ActivityNetFeatureDataset(ann_file=ann2,
                                  data_prefix=dict(feature=str(tmp_path / 'feat')))


def test_subset_requested_but_file_has_none(tmp_path):
    ann = write_json(tmp_path / 'bsn.json', {'v_x1': {'duration_second': 10.0,
                                                      'annotations': [{'segment': [1, 2],
                                                                       'label': 'A'}]}})
    write_npy_features(str(tmp_path / 'feat'), {'x1': 5}, 4)
    with pytest.raises(ValueError, match='subset_file'):
        ActivityNetFeatureDataset(ann_file=ann, subset='training',
                                  data_prefix=dict(feature=str(tmp_path / 'feat')))
    ds = ActivityNetFeatureDataset(ann_file=ann, data_prefix=dict(video=str(tmp_path / 'feat')))
    assert ds[0]['data_samples'].video_name == 'x1'


def test_clipping_warning_shows_the_overshoot():
    """A segment ending just past the video must not look in range once printed."""
    import numpy as np
    from etad_mmaction.datasets.annotations import (TADAnnotationWarning, VideoRecord,
                                                    clean_records)
    rec = VideoRecord(raw_id='v_tiny', video_name='tiny', duration=112.849,
                      segments=np.array([[0.01, 112.8490004]]), labels=['a'])
    with pytest.warns(TADAnnotationWarning) as caught:
        clean_records([rec], source='gt.json')
    message = str(caught[0].message)
    assert '112.8490004' in message and '4e-07 s outside [0, 112.849]' in message
