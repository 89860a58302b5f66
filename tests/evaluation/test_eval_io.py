"""Ground-truth / prediction loaders, format detection, dump round trip."""
import json
import os
import os.path as osp
import warnings

import numpy as np
import pytest

from etad_mmaction.evaluation.functional import (
    detect_ground_truth_format, dump_predictions, load_blocked, load_ground_truth,
    load_predictions, load_video_subsets, normalize_video_id)


def write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def test_normalize_video_id():
    assert normalize_video_id('v_abc') == 'abc'
    assert normalize_video_id('abc') == 'abc'
    assert normalize_video_id('video_test_0000004') == 'video_test_0000004'
    assert normalize_video_id('v_v_x') == 'v_x'  # one prefix only


def test_real_activitynet_anno_with_csv(real_data):
    root, counts = real_data
    counts = counts['activitynet']
    anno = osp.join(root, 'activitynet', 'anet_anno_action.json')
    csv = osp.join(root, 'activitynet', 'video_info_new.csv')
    gt, fmt = load_ground_truth(anno, subset='validation', video_info_file=csv,
                                return_format=True)
    val = counts['validation']
    assert fmt == 'anet_anno'
    assert len(gt) == val['videos']
    assert sum(len(v['labels']) for v in gt.values()) == val['instances']
    assert not any(k.startswith('v_') for k in gt)
    first = next(iter(gt.values()))
    assert first['subset'] == 'validation' and first['duration'] > 0
    assert first['segments'].shape == (len(first['labels']), 2)
    assert len({lab for v in gt.values() for lab in v['labels']}) == val['classes'] == 200
    # the csv next to the json is picked up automatically
    assert len(load_ground_truth(anno, subset='validation')) == val['videos']
    train = load_ground_truth(anno, subset='training', video_info_file=csv)
    assert len(train) == counts['training']['videos']
    assert sum(len(v['labels']) for v in train.values()) == counts['training']['instances']
    subsets = load_video_subsets(csv)
    assert subsets[next(iter(gt))] == 'validation'
    blocked = load_blocked(osp.join(root, 'activitynet', 'blocked.json'))
    assert len(blocked) == 79 and not any(b.startswith('v_') for b in blocked)
    gt_b = load_ground_truth(anno, subset='validation', video_info_file=csv, blocked=blocked)
    assert len(blocked & set(gt)) == counts['blocked_in_validation'] > 0
    assert len(gt_b) == len(gt) - counts['blocked_in_validation']


def test_real_thumos(real_data):
    root, counts = real_data
    counts = counts['thumos14']
    path = osp.join(root, 'thumos14', 'thumos14.json')
    test, fmt = load_ground_truth(path, subset='Test', return_format=True)
    assert fmt == 'thumos'
    assert len(test) == counts['Test']['videos']
    assert len({lab for v in test.values() for lab in v['labels']}) == 20
    assert len(load_ground_truth(path, subset='Validation')) == counts['Validation']['videos']
    assert len(load_ground_truth(path)) == counts['Test']['videos'] + counts['Validation']['videos']
    with pytest.raises(ValueError, match="subset 'validation'"):
        load_ground_truth(path, subset='validation')  # names as in the file


def test_official_format_subset_and_prefix(tmp_path):
    db = {'abc': dict(subset='validation', duration=20.0,
                      annotations=[dict(segment=[1, 5], label='X'),
                                   dict(segment=[6, 9], label='Y')]),
          'v_def': dict(subset='training', duration=10.0, annotations=[]),
          'ghi': dict(subset='validation', duration=12.0, annotations=[])}
    path = write(tmp_path / 'gt.json', dict(version='1.3', taxonomy=[], database=db))
    gt, fmt = load_ground_truth(path, subset='validation', return_format=True)
    assert fmt == 'activitynet'
    assert list(gt) == ['abc', 'ghi']  # videos without annotations are kept
    np.testing.assert_array_equal(gt['abc']['segments'], [[1, 5], [6, 9]])
    assert gt['abc']['labels'] == ['X', 'Y'] and gt['abc']['duration'] == 20.0
    assert list(load_ground_truth(path)) == ['abc', 'def', 'ghi']
    assert list(load_ground_truth(path, blocked=['v_abc'])) == ['def', 'ghi']


def test_anet_anno_without_csv_warns(tmp_path):
    path = write(tmp_path / 'anno.json', {'v_a': dict(duration_second=3.0, annotations=[
        dict(segment=[0, 1], label='X')])})
    with pytest.warns(UserWarning, match='ignored'):
        gt = load_ground_truth(path, subset='validation')
    assert list(gt) == ['a']
    assert list(load_ground_truth(path)) == ['a']


def test_anet_anno_entry_without_annotations_is_an_error(tmp_path):
    """The datasets accept it (a video without actions); the evaluator does not."""
    path = write(tmp_path / 'anno.json', {
        'v_a': dict(duration_second=3.0, annotations=[dict(segment=[0, 1], label='X')]),
        'v_b': dict(duration_second=3.0)})
    with pytest.raises(ValueError, match=r"anno.json: entry 'v_b' has no \"annotations\""):
        load_ground_truth(path)


def test_format_detection():
    anet = {'database': {}, 'taxonomy': [], 'version': ''}
    assert detect_ground_truth_format(anet) == 'activitynet'
    assert detect_ground_truth_format(
        {'database': {'x': dict(subset='Test', duration=1, fps=30, annotations=[])}}) == 'thumos'
    bsn = {'v_x': dict(duration_second=1, annotations=[])}
    assert detect_ground_truth_format(bsn) == 'anet_anno'
    with pytest.raises(ValueError, match='prediction file'):
        detect_ground_truth_format({'results': {}})
    with pytest.raises(ValueError, match='unknown ground-truth format'):
        detect_ground_truth_format({'x': 1})


def test_malformed_inputs_name_the_file(tmp_path):
    bad = write(tmp_path / 'bad_ann.json', dict(database={'a': dict(
        subset='validation', annotations=[dict(segment=[0], label='X')])}))
    with pytest.raises(ValueError, match='bad_ann.json'):
        load_ground_truth(bad)
    broken = tmp_path / 'broken.json'
    broken.write_text('{not json')
    with pytest.raises(ValueError, match='broken.json'):
        load_ground_truth(str(broken))
    with pytest.raises(ValueError, match='broken.json'):
        load_predictions(str(broken))
    nores = write(tmp_path / 'nores.json', dict(version='x'))
    with pytest.raises(ValueError, match='nores.json.*results'):
        load_predictions(nores)
    badpred = write(tmp_path / 'badpred.json', dict(results={'a': [dict(score=1, segment=[0, 1])]}))
    with pytest.raises(ValueError, match='badpred.json'):
        load_predictions(badpred)
    assert load_predictions(badpred, require_label=False)['a'][0]['score'] == 1.0
    csv = tmp_path / 'info.csv'
    csv.write_text('name,split\na,validation\n')
    with pytest.raises(ValueError, match='info.csv'):
        load_video_subsets(str(csv))
    blk = write(tmp_path / 'blk.json', 'abc')
    with pytest.raises(ValueError, match='blk.json'):
        load_blocked(blk)


def test_dump_round_trip(tmp_path):
    results = {'abc': [dict(label='X', score=np.float32(0.5), segment=np.array([1.0, 2.5]))],
               'def': []}
    path = str(tmp_path / 'sub' / 'pred.json')
    dump_predictions(results, path)
    assert os.listdir(tmp_path / 'sub') == ['pred.json']  # no temp file left behind
    with open(path) as f:
        raw = json.load(f)
    assert set(raw) == {'version', 'results', 'external_data'}
    loaded = load_predictions(path)
    assert loaded == {'abc': [dict(label='X', score=0.5, segment=[1.0, 2.5])], 'def': []}
    # overwrite atomically
    dump_predictions({'v_x': [dict(label='Y', score=1, segment=[0, 1])]}, path)
    assert list(load_predictions(path)) == ['x']


def test_dump_failure_keeps_old_file(tmp_path):
    path = str(tmp_path / 'pred.json')
    dump_predictions({'a': []}, path)
    with pytest.raises(TypeError):
        dump_predictions({'a': [dict(label=object(), score=1, segment=[0, 1])]}, path)
    assert load_predictions(path) == {'a': []}
    assert os.listdir(tmp_path) == ['pred.json']
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load_predictions(path)
