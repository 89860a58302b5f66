"""Damaged feature files: every read error names the video and the file, in the
main process and in dataloader workers; the dataset check lists all bad files."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from etad_mmaction.datasets import ActivityNetFeatureDataset, FeatureError, ThumosFeatureDataset
from etad_mmaction.datasets.check import check_feature_files
from etad_mmaction.testing import load_tool
from etad_mmaction.datasets.features import feature_shape, load_feature

from tad_helpers import official_gt, write_json, write_npy_features

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _damage(path, how):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        if how == 'truncate':
            f.write(data[:len(data) - 40])
        elif how == 'header':
            f.write(data[:20])
        elif how == 'random':
            f.write(b'\x80\x04' + bytes(np.random.default_rng(0).integers(0, 255, 300,
                                                                           dtype=np.uint8)))
        elif how == 'pickle':
            np.save(f, np.array([{'a': 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize('how', ['truncate', 'header', 'random', 'pickle'])
def test_damaged_npy_names_video_and_file(small_anet, how):
    path = osp.join(small_anet['feat_dir'], 'v_vidB.npy')
    ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'],
                                   data_prefix=dict(feature=small_anet['feat_dir']))
    _damage(path, how)
    idx = [ds.get_data_info(i)['raw_video_id'] for i in range(len(ds))].index('vidB')
    with pytest.raises(FeatureError) as err:
        ds[idx]
    assert "'vidB'" in str(err.value) and path in str(err.value)


@pytest.mark.parametrize('text', ['1,2,3\n4,5\n', '1,2,3\n4,x,6\n'])
def test_bad_csv_names_video_and_file(tmp_path, text):
    path = str(tmp_path / 'v_vidZ.csv')
    open(path, 'w').write(text)
    with pytest.raises(FeatureError) as err:
        load_feature(path, 'csv', video='vidZ')
    assert "'vidZ'" in str(err.value) and path in str(err.value)


def test_damaged_pt_names_video_and_file(tmp_path):
    path = str(tmp_path / 'vidP.pt')
    open(path, 'wb').write(b'not a torch file' * 4)
    with pytest.raises(FeatureError) as err:
        load_feature(path, 'pt', video='vidP')
    assert "'vidP'" in str(err.value) and path in str(err.value)


def test_damaged_npy_in_dataloader_worker(small_anet):
    path = osp.join(small_anet['feat_dir'], 'v_vidA.npy')
    ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'],
                                   data_prefix=dict(feature=small_anet['feat_dir']))
    _damage(path, 'truncate')
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=1,
                                         collate_fn=lambda batch: batch)
    with pytest.raises(Exception) as err:
        next(iter(loader))
    assert 'vidA' in str(err.value) and path in str(err.value)


def test_thumos_shape_of_damaged_file_names_it(tmp_path):
    ann = write_json(tmp_path / 't.json', official_gt({'vid1': ('validation', 30.0,
                                                                 [(1.0, 5.0, 'A')])}))
    write_npy_features(str(tmp_path / 'feat'), {'vid1': 200}, 8, prefix='')
    path = str(tmp_path / 'feat' / 'vid1.npy')
    _damage(path, 'header')
    with pytest.raises(FeatureError) as err:
        ThumosFeatureDataset(ann_file=ann, data_prefix=dict(feature=str(tmp_path / 'feat')),
                             subset='validation')
    assert "'vid1'" in str(err.value) and path in str(err.value)
    with pytest.raises(FeatureError, match='vid1'):
        feature_shape(path, 'npy', video='vid1')


def test_check_lists_every_bad_file(small_anet):
    _damage(osp.join(small_anet['feat_dir'], 'v_vidA.npy'), 'truncate')
    _damage(osp.join(small_anet['feat_dir'], 'v_vidC.npy'), 'random')
    ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'], lazy_init=True,
                                   data_prefix=dict(feature=small_anet['feat_dir']))
    checked, errors = check_feature_files(ds)
    assert checked == 3 and len(errors) == 2
    assert 'v_vidA.npy' in errors[0] and 'v_vidC.npy' in errors[1]


def test_check_features_tool(small_anet, tmp_path, capsys):
    cfg = tmp_path / 'cfg.py'
    ds = dict(type='ActivityNetFeatureDataset', ann_file=small_anet['ann'],
              data_prefix=dict(feature=small_anet['feat_dir']))
    cfg.write_text(f"default_scope = 'mmaction'\n"
                   f"train_dataloader = dict(dataset=dict({ds!r}, subset='training'))\n"
                   f"val_dataloader = dict(dataset=dict({ds!r}, subset='validation'))\n"
                   f"test_dataloader = val_dataloader\n")
    check_features = load_tool('data/check_features.py')
    assert check_features.main([str(cfg)]) == 0
    os.remove(osp.join(small_anet['feat_dir'], 'v_vidB.npy'))
    _damage(osp.join(small_anet['feat_dir'], 'v_vidC.npy'), 'header')
    assert check_features.main([str(cfg)]) == 1
    out = capsys.readouterr().out
    assert 'v_vidB.npy' in out and 'v_vidC.npy' in out
    assert 'train: 2 videos checked, 1 bad' in out and 'val: 1 videos checked, 1 bad' in out
    missing = str(tmp_path / 'no_such_folder')
    assert check_features.main([str(cfg), '--cfg-options',
                                f'val_dataloader.dataset.data_prefix.feature={missing}']) == 1
    assert 'val: cannot check: FileNotFoundError' in capsys.readouterr().out


def test_damaged_feature_file_in_inference_detector(tmp_path):
    from etad_mmaction.apis import inference_detector, init_detector
    path = str(tmp_path / 'v_clip.npy')
    np.save(path, np.random.default_rng(0).standard_normal((40, 32)).astype(np.float32))
    _damage(path, 'truncate')
    model = init_detector(osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py'))
    with pytest.raises(FeatureError) as err:
        inference_detector(model, path, duration=20.0)
    assert 'v_clip' in str(err.value) and path in str(err.value)
