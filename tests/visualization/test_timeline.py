"""The demo's timeline: a ground-truth lane only when there is ground truth, every lane
named."""
import os.path as osp

from etad_mmaction.visualization import plot_timeline

RESULT = dict(duration=10.0, video='v.mp4', class_agnostic=True,
              detections=[dict(segment=[1.0, 4.0], score=0.9, label='action'),
                          dict(segment=[5.0, 9.0], score=0.5, label='action')])


def test_lanes(tmp_path):
    out = str(tmp_path / 'a.png')
    assert plot_timeline(RESULT, out) == ['detections']
    assert osp.getsize(out) > 0
    lanes = plot_timeline(RESULT, out, ground_truth=[(1.0, 4.0, 'jump')], color_by='iou')
    assert lanes == ['ground truth', 'detections']
    assert plot_timeline(dict(RESULT, detections=[]), out) == ['detections']
