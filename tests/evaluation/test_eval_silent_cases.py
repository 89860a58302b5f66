"""Inputs that changed the numbers without a word (issue 24, case 10): a string
score, a 3-number segment, an empty "results", ground truth after the video's
end, top_k_classes=0."""
import json

import pytest

from etad_mmaction.evaluation import TADMetric
from etad_mmaction.evaluation.functional import assign_classes
from etad_mmaction.evaluation.functional.io import load_ground_truth

from etad_mmaction.testing import eval_detection_cli as cli
from etad_mmaction.testing import write_json as write


def predictions(tmp_path, results):
    return write(tmp_path / 'p.json', dict(version='1.3', results=results, external_data={}))


@pytest.mark.parametrize('entry,why', [
    (dict(label='X', score='0.9', segment=[0, 10]), 'score must be a number, got str'),
    (dict(label='X', score=0.9, segment=[0, 10, 20]), 'segment must be [start, end]'),
    (dict(label='X', score=0.9, segment=['0', 10]), 'segment must be [start, end]'),
    (dict(label='X', score=True, segment=[0, 10]), 'score must be a number, got bool'),
])
def test_malformed_predictions_are_errors(small_pair, tmp_path, entry, why):
    gt, _ = small_pair
    proc = cli(gt, predictions(tmp_path, {'a': [entry]}), check=False)
    assert proc.returncode != 0 and "results['a'][0] is malformed" in proc.stderr
    assert why in proc.stderr


def test_empty_results_are_an_error(small_pair, tmp_path):
    gt, _ = small_pair
    for results in ({}, {'a': [], 'b': []}):
        proc = cli(gt, predictions(tmp_path, results), check=False)
        assert proc.returncode != 0 and 'holds no prediction' in proc.stderr
        assert 'p.json' in proc.stderr


def test_ground_truth_after_the_video_end_is_kept_with_a_warning(small_pair, tmp_path):
    """THUMOS-14 has 30 such annotations: kept (missed ground truth), one warning."""
    gt, pred = small_pair
    data = json.loads(open(gt).read())
    base = cli(gt, pred)
    data['database']['b']['annotations'].append(dict(segment=[500, 600], label='Y'))
    g2 = write(tmp_path / 'g2.json', data)
    proc = cli(g2, pred, check=False)
    assert proc.returncode == 0, proc.stderr
    assert ("1 ground-truth annotation(s) start after their video ends (e.g. 'b' "
            "annotation 1); they are kept") in proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out != base      # scored: the second 'Y' instance is missed
    with pytest.warns(UserWarning, match='start after their video ends') as rec:
        gt_dict = load_ground_truth(str(g2))
    assert len(rec) == 1 and gt_dict['b']['segments'].tolist() == [[5, 15], [500, 600]]
    data['database']['b']['annotations'][-1]['segment'] = [45, 50.5]    # slightly past
    assert 'start after' not in cli(write(tmp_path / 'g3.json', data), pred,
                                    check=False).stderr


def test_zero_classes_per_proposal_is_an_error():
    for key in ('top_k_classes', 'top_k'):
        with pytest.raises(ValueError, match=f'{key}=0 keeps no detection.*test_evaluator'):
            TADMetric(**{key: 0})
    TADMetric(top_k=None, top_k_classes=-1)
    with pytest.raises(ValueError, match='top_k=0 assigns no class'):
        assign_classes([[0., 1.]], [0.5], [0.2, 0.8], ['a', 'b'], top_k=0)
