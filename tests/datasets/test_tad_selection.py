"""An empty or thinned training selection says what was dropped and why (issue 24,
case 4): the subset asked for, the annotation file and the subsets it holds."""
import json
from types import SimpleNamespace

import pytest
import torch

from etad_mmaction.datasets import ActivityNetFeatureDataset
from etad_mmaction.engine.guards import check_train_iterations


def test_empty_training_set_names_subset_file_and_subsets(small_anet):
    ds = ActivityNetFeatureDataset(ann_file=small_anet['ann'], subset='train',
                                   data_prefix=dict(feature=small_anet['feat_dir']))
    assert len(ds) == 0
    runner = SimpleNamespace(train_loop=SimpleNamespace(
        dataloader=torch.utils.data.DataLoader(ds, batch_size=2, drop_last=True)))
    with pytest.raises(ValueError) as err:
        check_train_iterations(runner)
    msg = str(err.value)
    assert msg.startswith('no training videos: 0 of the 3 videos of ' + small_anet['ann'])
    assert "subset ['train']" in msg and "holds subsets ['training', 'validation']" in msg
    assert "3 not in subset ['train']" in msg


def test_dropped_videos_are_counted(small_anet, tmp_path):
    with open(small_anet['ann']) as f:
        gt = json.load(f)
    gt['database']['vidB']['annotations'] = []
    with open(tmp_path / 'gt2.json', 'w') as f:
        json.dump(gt, f)
    ds = ActivityNetFeatureDataset(ann_file=str(tmp_path / 'gt2.json'), subset='training',
                                   exclude_videos=['vidZ'],
                                   data_prefix=dict(feature=small_anet['feat_dir']))
    assert len(ds) == 1
    assert ds.selection_summary() == (
        f"1 of the 3 videos of {tmp_path / 'gt2.json'} kept (subset ['training']; the file "
        "holds subsets ['training', 'validation']); dropped: 1 not in subset ['training'], "
        "1 without annotations (kept only with test_mode=True)")


def test_check_features_fails_on_an_empty_split(small_anet, tmp_path, capsys):
    from etad_mmaction.testing import load_tool
    cfg = tmp_path / 'cfg.py'
    ds = dict(type='ActivityNetFeatureDataset', ann_file=small_anet['ann'],
              data_prefix=dict(feature=small_anet['feat_dir']))
    cfg.write_text(f"default_scope = 'mmaction'\n"
                   f"train_dataloader = dict(dataset=dict({ds!r}, subset='train'))\n"
                   f"val_dataloader = dict(dataset=dict({ds!r}, subset='validation'))\n")
    check_features = load_tool('data/check_features.py')
    assert check_features.main([str(cfg)]) == 1
    out = capsys.readouterr().out
    assert (f"train: no videos to check: 0 of the 3 videos of {small_anet['ann']} kept "
            "(subset ['train']; the file holds subsets ['training', 'validation'])") in out
    assert 'val: 1 videos checked, ok' in out
    assert "2 not in subset ['validation']" in out
