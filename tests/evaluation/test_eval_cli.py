"""tools/analysis/eval_detection.py via subprocess."""
import os.path as osp

import numpy as np
import pytest

from etad_mmaction.testing import eval_detection_cli as cli
from etad_mmaction.testing import write_json as write

TEST_DATA = osp.join(osp.dirname(__file__), 'data')


def test_cli_anet(small_pair, tmp_path):
    gt, pred = small_pair
    out = cli(gt, pred)
    assert out['protocol'] == 'anet' and out['subset'] == 'validation'
    assert out['num_classes'] == 2
    x = 0.5 + 0.5 * 2 / 3  # class X (worked example with a tie)
    y = (np.linspace(0.5, 0.95, 10) <= 0.8 + 1e-12).astype(float)
    np.testing.assert_allclose([out[f'mAP@{t:.2f}'] for t in np.linspace(0.5, 0.95, 10)],
                               (x + y) / 2)
    assert out['avg_mAP'] == pytest.approx(((x + y) / 2).mean())
    out = cli(gt, pred, '--tiou', 0.5, 0.9, '--per-class')
    assert list(out)[:3] == ['mAP@0.50', 'mAP@0.90', 'avg_mAP']
    assert out['per_class']['Y'] == [1.0, 0.0]
    blocked = write(tmp_path / 'blocked.json', ['b'])
    out = cli(gt, pred, '--blocked', blocked, '--protocol', 'thumos')
    assert out['num_classes'] == 1 and out['mAP@0.30'] == pytest.approx(x)


def test_cli_thumos_and_anet_anno(tmp_path):
    th = {'version': 'x', 'database': {
        'video_test_1': dict(subset='Test', duration=30, fps=30.0, annotations=[
            dict(label='Golf', label_id=0, segment=[1.0, 4.0])]),
        'video_validation_1': dict(subset='Validation', duration=30, fps=30.0, annotations=[
            dict(label='Golf', label_id=0, segment=[1.0, 4.0])])}}
    gt = write(tmp_path / 'thumos.json', th)
    pred = write(tmp_path / 'p.json', dict(results={'video_test_1': [
        dict(label='Golf', score=0.9, segment=[1.0, 3.4])]}))  # tIoU 0.8
    out = cli(gt, pred)
    assert out['protocol'] == 'thumos' and out['subset'] == 'Test'
    assert out['ground_truth_format'] == 'thumos'
    assert out['avg_mAP'] == 1.0
    assert cli(gt, pred, '--subset', 'Validation')['avg_mAP'] == 0.0
    anno = write(tmp_path / 'anno.json', {'v_q': dict(duration_second=9.0, annotations=[
        dict(segment=[1, 5], label='X')]), 'v_r': dict(duration_second=9.0, annotations=[
            dict(segment=[1, 5], label='X')])})
    info = tmp_path / 'info.csv'
    info.write_text('video,numFrame,seconds,fps,rfps,subset,featureFrame\n'
                    'v_q,1,1,1,1,validation,1\nv_r,1,1,1,1,training,1\n')
    pred = write(tmp_path / 'p2.json',
                 dict(results={'q': [dict(label='X', score=1, segment=[1, 5])]}))
    out = cli(anno, pred, '--video-info', info)
    assert out['ground_truth_format'] == 'anet_anno' and out['avg_mAP'] == 1.0


def test_cli_official_fixture():
    out = cli(osp.join(TEST_DATA, 'xcheck_gt.json'), osp.join(TEST_DATA, 'xcheck_pred.json'))
    assert out['avg_mAP'] == pytest.approx(0.2457703988096145, abs=1e-9)


def test_cli_errors(tmp_path, small_pair):
    gt, pred = small_pair
    bad = tmp_path / 'bad.json'
    bad.write_text('{')
    proc = cli(gt, bad, check=False)
    assert proc.returncode != 0 and 'bad.json' in proc.stderr
    proc = cli(gt, pred, '--subset', 'nope', check=False)
    assert proc.returncode != 0 and "subset 'nope'" in proc.stderr
