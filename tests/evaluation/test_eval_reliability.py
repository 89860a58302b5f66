"""The evaluator refuses what it cannot score (NaN/Inf, inverted segments, tIoU
outside (0, 1]), warns with counts on videos outside the ground truth, names
files that are not JSON, and never writes a non-finite submission."""
import json
import os
import os.path as osp
import warnings

import pytest
import torch
from mmengine.structures import InstanceData

import etad_mmaction  # noqa: F401
from etad_mmaction.datasets.annotations import parse_annotation_file
from etad_mmaction.datasets.classifier import ClassifierScores
from etad_mmaction.evaluation import TADMetric
from etad_mmaction.testing import eval_detection_cli as cli
from etad_mmaction.testing import write_json as write
from etad_mmaction.evaluation.functional import (average_recall_at_avg_proposals,
                                                 dump_predictions, get_tiou_thresholds,
                                                 load_ground_truth, mean_average_precision)
from mmaction.structures import ActionDataSample

GT = {'a': [[0.0, 10.0, 'X'], [20.0, 30.0, 'X']], 'b': [[5.0, 15.0, 'Y']]}


def preds(**override):
    out = {'a': [dict(label='X', score=0.9, segment=[0.0, 10.0]),
                 dict(label='X', score=0.8, segment=[20.0, 29.0])],
           'b': [dict(label='Y', score=0.7, segment=[5.0, 14.0])]}
    for key, value in override.items():
        out['a'][0][key] = value
    return out


@pytest.mark.parametrize('bad', [dict(score=float('nan')), dict(score=float('inf')),
                                 dict(segment=[float('nan'), 10.0]),
                                 dict(segment=[0.0, float('inf')])])
def test_non_finite_predictions_are_errors(bad):
    with pytest.raises(ValueError, match="NaN/Inf.*video 'a'"):
        mean_average_precision(GT, preds(**bad))
    with pytest.raises(ValueError, match="NaN/Inf.*video 'a'"):
        average_recall_at_avg_proposals(GT, preds(**bad))


def test_inverted_predictions_are_errors_unless_allowed():
    with pytest.raises(ValueError, match=r"1 predictions have start > end.*video 'a'"):
        mean_average_precision(GT, preds(segment=[10.0, 0.0]))
    res = mean_average_precision(GT, preds(segment=[10.0, 0.0]), allow_inverted=True)
    assert res['num_inverted'] == 1
    assert res['ap'][0, 0] < 1.0  # the inverted one is a false positive


def test_inverted_or_nan_ground_truth_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="ground-truth segments have start > end.*video 'b'"):
        mean_average_precision(dict(GT, b=[[15.0, 5.0, 'Y']]), preds())
    with pytest.raises(ValueError, match="ground-truth segments have NaN/Inf.*video 'b'"):
        mean_average_precision(dict(GT, b=[[float('nan'), 5.0, 'Y']]), preds())
    db = {'b': dict(subset='validation', duration=50,
                    annotations=[dict(segment=[15, 5], label='Y')])}
    path = write(tmp_path / 'gt.json', dict(database=db))
    with pytest.raises(ValueError, match=f"{path}: video 'b' annotation 0.*start > end"):
        load_ground_truth(str(path))


@pytest.mark.parametrize('thr', [[1.5], [-0.2], [0.0], [0.5, float('nan')]])
def test_tiou_thresholds_outside_unit_interval(thr):
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        get_tiou_thresholds('anet', thr)
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        mean_average_precision(GT, preds(), tiou_thresholds=thr)
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        TADMetric(tiou_thresholds=thr)
    assert get_tiou_thresholds('anet', [1.0, 0.3]).tolist() == [1.0, 0.3]


def test_unknown_videos_warn_with_count():
    p = dict(preds(), zz=[dict(label='X', score=0.5, segment=[0.0, 1.0])] * 3)
    with pytest.warns(UserWarning, match=r'3 predictions of 1 video\(s\) absent'):
        res = mean_average_precision(GT, p)
    assert res['num_unknown_video_predictions'] == 3 and res['unknown_videos'] == ['zz']
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        res = mean_average_precision(GT, preds())
    assert res['num_unknown_video_predictions'] == 0


def test_cli_refuses_what_it_cannot_score(small_pair, tmp_path):
    gt, pred = small_pair
    proc = cli(gt, pred, '--tiou', 1.5, -0.2, check=False)
    assert proc.returncode != 0 and '(0, 1]' in proc.stderr and 'mAP@-0.20' not in proc.stdout
    sub = json.loads(open(pred).read())
    sub['results']['v_a'][0]['score'] = float('nan')
    bad = tmp_path / 'nan.json'
    bad.write_text(json.dumps(sub))  # json.dumps writes NaN, as a careless tool would
    proc = cli(gt, bad, check=False)
    assert proc.returncode != 0 and 'NaN' in proc.stderr and "'a'" in proc.stderr
    sub = json.loads(open(pred).read())
    for dets in sub['results'].values():
        for d in dets:
            d['segment'] = d['segment'][::-1]
    proc = cli(gt, write(tmp_path / 'inv.json', sub), check=False)
    assert proc.returncode != 0 and 'start > end' in proc.stderr


def test_cli_warns_on_predictions_outside_the_subset(small_pair):
    gt, pred = small_pair
    proc = cli(gt, pred, '--subset', 'training', check=False)
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert out['num_unknown_video_predictions'] == 5
    assert "5 predictions of 2 video(s) not in subset 'training'" in proc.stderr


def test_cli_thresholds_are_rounded(small_pair):
    gt, pred = small_pair
    out = cli(gt, pred)
    assert out['tiou_thresholds'][8] == 0.9 and '0.8999' not in json.dumps(out)
    out = cli(gt, pred, '--protocol', 'thumos')
    assert out['tiou_thresholds'] == [0.3, 0.4, 0.5, 0.6, 0.7]


def test_files_that_are_not_json_are_named(tmp_path, small_pair):
    broken = tmp_path / 'broken.json'
    broken.write_text('{"database": {x}')
    with pytest.raises(ValueError, match=str(broken)):
        load_ground_truth(str(broken))
    with pytest.raises(ValueError, match=str(broken)):
        parse_annotation_file(str(broken))
    with pytest.raises(ValueError, match=str(broken)):
        ClassifierScores(str(broken), ['X'])
    _, pred = small_pair
    proc = cli(broken, pred, check=False)
    assert proc.returncode != 0 and str(broken) in proc.stderr
    assert 'Traceback' not in proc.stderr


def _sample(video, segments, scores):
    ds = ActionDataSample()
    ds.set_metainfo(dict(video_name=video, duration=100.0, gt_video=[[0.0, 10.0, 'A']]))
    ds.pred_instances = InstanceData(segments=torch.tensor(segments).reshape(-1, 2),
                                     scores=torch.tensor(scores).reshape(-1))
    return ds


def test_metric_refuses_non_finite_predictions(tmp_path):
    out = str(tmp_path / 'sub.json')
    metric = TADMetric(dump_file=out)
    metric.dataset_meta = dict(classes=['A'])
    metric.process(None, [_sample('v1', [[0.0, 10.0]], [0.9])])
    with pytest.raises(ValueError, match="video 'v2'.*NaN/Inf"):
        metric.process(None, [_sample('v2', [[float('nan'), float('nan')]], [float('nan')])])
    assert not osp.exists(out)


def test_submission_never_holds_nan_and_keeps_umask(tmp_path):
    out = str(tmp_path / 'sub.json')
    with pytest.raises(ValueError, match="video 'v1'"):
        dump_predictions({'v1': [dict(label='A', score=float('nan'), segment=[0, 1])]}, out)
    assert os.listdir(tmp_path) == []
    old = os.umask(0o022)
    try:
        dump_predictions({'v1': [dict(label='A', score=0.5, segment=[0, 1])]}, out)
    finally:
        os.umask(old)
    assert os.stat(out).st_mode & 0o777 == 0o644
