"""One numpy-only reader of annotation files for the evaluator and the datasets: the
same file gives the same segments both ways, the same malformed entry the same error,
and each keeps its contract (the evaluator refuses start > end, the datasets repair)."""
import json
import os.path as osp
import subprocess
import sys
import warnings

import numpy as np
import pytest

from etad_mmaction.datasets.annotations import (TADAnnotationWarning, clean_records,
                                                parse_annotation_file)
from etad_mmaction.evaluation.functional import load_ground_truth

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


@pytest.mark.parametrize('bsn', [False, True])
def test_same_segments_both_ways(tmp_path, bsn):
    videos = {'v_a': dict(subset='validation', duration=50.0, annotations=[
        dict(segment=[1.5, 9], label='X', label_id=0), dict(segment=[20, 31], label='Y',
                                                           label_id=1)]),
              'b': dict(subset='validation', duration=20.0, annotations=[])}
    if bsn:
        data = {k: dict(duration_second=v['duration'], annotations=v['annotations'])
                for k, v in videos.items()}
    else:
        data = dict(database=videos, taxonomy=[], version='1.3')
    path = _write(tmp_path / 'gt.json', data)
    gt = load_ground_truth(path)
    records, classes = parse_annotation_file(path)
    assert [r.video_name for r in records] == list(gt) == ['a', 'b']
    for rec in records:
        np.testing.assert_array_equal(rec.segments, gt[rec.video_name]['segments'])
        assert rec.labels == gt[rec.video_name]['labels']
        assert rec.duration == gt[rec.video_name]['duration']
    assert classes == ['X', 'Y']


@pytest.mark.parametrize('ann, error', [
    (dict(segment=[0], label='X'), "annotation 0 is malformed"),
    (dict(segment=[0, 1, 2], label='X'), "annotation 0 is malformed"),
    (dict(segment=[0, 'x'], label='X'), "annotation 0 is malformed"),
    (dict(segment=[0, float('nan')], label='X'), "annotation 0 has segment .*NaN/Inf"),
    (dict(segment=[0, 1]), "annotation 0 is malformed"),
])
def test_same_error_both_ways(tmp_path, ann, error):
    path = _write(tmp_path / 'bad.json', dict(database={'q': dict(
        subset='validation', duration=9.0, annotations=[ann])}))
    for load in (load_ground_truth, parse_annotation_file):
        with pytest.raises(ValueError, match=f"{path}: video 'q' {error}"):
            load(path)


def test_inverted_segments_refused_by_the_evaluator_repaired_by_the_datasets(tmp_path):
    path = _write(tmp_path / 'inv.json', dict(database={'q': dict(
        subset='validation', duration=9.0, annotations=[dict(segment=[5, 2], label='X'),
                                                        dict(segment=[1, 12], label='X')])}))
    with pytest.raises(ValueError, match="video 'q' annotation 0 .*start > end"):
        load_ground_truth(path)
    records, _ = parse_annotation_file(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        clean_records(records, path)
    assert records[0].segments.tolist() == [[1.0, 9.0]]
    messages = sorted(str(w.message) for w in caught
                      if issubclass(w.category, TADAnnotationWarning))
    assert len(messages) == 2
    assert messages[0].startswith(f'1 segment(s) in {path} outside [0, duration] were clipped')
    assert messages[1].startswith(f'1 zero-length segment(s) in {path} were dropped: q [5.0')


def test_durations_required_by_the_datasets_only(tmp_path):
    path = _write(tmp_path / 'nodur.json', dict(database={'q': dict(
        subset='validation', annotations=[dict(segment=[1, 2], label='X')])}))
    assert load_ground_truth(path)['q']['duration'] is None
    with pytest.raises(ValueError, match=f"{path}: video 'q' has no \"duration\""):
        parse_annotation_file(path)
    path = _write(tmp_path / 'strdur.json', dict(database={'q': dict(duration='long')}))
    for load in (load_ground_truth, parse_annotation_file):
        with pytest.raises(ValueError, match="video 'q': duration 'long' is not a number"):
            load(path)


def test_the_core_loads_without_torch():
    code = ('import sys, importlib.util as u; sys.modules["torch"] = None; '
            f'p = {osp.join(REPO_ROOT, "etad_mmaction", "evaluation", "functional")!r}; '
            's = u.spec_from_file_location("f", p + "/__init__.py", '
            'submodule_search_locations=[p]); m = u.module_from_spec(s); '
            'sys.modules["f"] = m; s.loader.exec_module(m); '
            'import f.annotation_files as a; print(a.detect_format({"database": {}}))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == 'activitynet', out.stderr
