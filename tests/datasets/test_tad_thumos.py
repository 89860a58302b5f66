"""THUMOS-14 sliding windows: window layout, cut-action rule, round trip
window -> video time, padding."""
import json

import numpy as np
import pytest

from etad_mmaction.datasets import ThumosFeatureDataset, parse_annotation_file
from etad_mmaction.datasets.windows import (covering_windows, snippets_to_seconds,
                                            window_ground_truth, window_starts)

from tad_helpers import THUMOS_ANNO, write_json, write_npy_features


def test_window_starts():
    assert window_starts(300, 128, 64) == [0, 64, 128, 172]
    assert window_starts(256, 128, 64) == [0, 64, 128]
    assert window_starts(128, 128, 64) == [0]
    assert window_starts(50, 128, 64) == [0]
    assert window_starts(129, 128, 64) == [0, 1]


def test_cut_action_rule():
    step = 4 / 30
    # action at snippets [120, 140] (length 20): 8 inside window 0 -> 0.4 < 0.5 dropped
    seg = np.array([[120, 140], [100, 140], [10, 20]]) * step
    out, idx = window_ground_truth(seg, 0.0, step, 128, 0, 400, keep_ratio=0.5)
    assert idx.tolist() == [1, 2]
    assert np.allclose(out, [[100, 128], [10, 20]], atol=1e-4)
    out, idx = window_ground_truth(seg, 64 * step, step, 128, 64, 400, keep_ratio=0.5)
    assert idx.tolist() == [0, 1]
    assert np.allclose(out, [[56, 76], [36, 76]], atol=1e-4)
    # keep_ratio=1 keeps only whole actions
    _, idx = window_ground_truth(seg, 0.0, step, 128, 0, 400, keep_ratio=1.0)
    assert idx.tolist() == [2]
    # the padded part of a window is not valid: an action is limited to the features
    out, idx = window_ground_truth(np.array([[40, 60]]) * step, 0.0, step, 128, 0, 50)
    assert np.allclose(out, [[40, 50]], atol=1e-4)


def _thumos_setup(tmp_path, videos, fps=30.0, stride=4):
    """Features with floor(duration * fps / stride) snippets per video."""
    lengths = {v: max(1, int(d * fps / stride)) for v, (_, d, _) in videos.items()}
    ann = {'database': {v: {'subset': s, 'duration': d, 'fps': fps,
                            'annotations': [{'segment': [a, b], 'label': lab}
                                            for a, b, lab in anns]}
                        for v, (s, d, anns) in videos.items()}}
    path = write_json(tmp_path / 'thumos.json', ann)
    write_npy_features(str(tmp_path / 'feat'), lengths, 6, prefix='')
    return path, str(tmp_path / 'feat'), lengths


def test_hand_video_windows_and_padding(tmp_path):
    videos = {
        'video_validation_1': ('Validation', 40.0, [(1.0, 3.0, 'A'), (20.0, 30.0, 'B')]),
        'video_validation_2': ('Validation', 5.0, [(1.0, 2.0, 'A')]),  # shorter than a window
        'video_validation_3': ('Validation', 30.0, []),
    }
    ann, feat, lengths = _thumos_setup(tmp_path, videos)
    assert lengths == {'video_validation_1': 300, 'video_validation_2': 37,
                       'video_validation_3': 225}
    test = ThumosFeatureDataset(ann_file=ann, data_prefix=dict(feature=feat), test_mode=True,
                                feature_dim=6)
    starts = [(test.get_data_info(i)['video_name'], test.get_data_info(i)['window_start_idx'])
              for i in range(len(test))]
    assert starts == [('video_validation_1', 0), ('video_validation_1', 64),
                      ('video_validation_1', 128), ('video_validation_1', 172),
                      ('video_validation_2', 0), ('video_validation_3', 0),
                      ('video_validation_3', 64), ('video_validation_3', 97)]
    item = test[4]
    s = item['data_samples']
    assert item['inputs'].shape == (6, 128)
    assert s.num_snippets == 128 and s.snippet_seconds == pytest.approx(4 / 30)
    raw = np.load(f'{feat}/video_validation_2.npy')
    assert np.allclose(item['inputs'][:, :37].numpy(), raw.T)
    assert np.all(item['inputs'][:, 37:].numpy() == 0)
    assert np.allclose(s.gt_instances.segments.numpy(), [[7.5, 15.0]], atol=1e-4)
    w = test[3]['data_samples']
    assert w.window_start == pytest.approx(172 * 4 / 30)
    assert w.gt_video == [[1.0, 3.0, 'A'], [20.0, 30.0, 'B']]
    raw1 = np.load(f'{feat}/video_validation_1.npy')
    assert np.allclose(test[3]['inputs'].numpy(), raw1[172:300].T)

    train = ThumosFeatureDataset(ann_file=ann, data_prefix=dict(feature=feat), feature_dim=6)
    tstarts = [(train.get_data_info(i)['video_name'], train.get_data_info(i)['window_start_idx'])
               for i in range(len(train))]
    # video 3 has no actions; windows without a kept action are dropped
    # B = snippets [150, 225]: window 0 keeps nothing of it but A; window 64 keeps
    # [150, 192] = 42/75 >= 0.5; window 128 and 172 contain it fully
    assert tstarts == [('video_validation_1', 0), ('video_validation_1', 64),
                       ('video_validation_1', 128), ('video_validation_1', 172),
                       ('video_validation_2', 0)]
    seg = train[1]['data_samples'].gt_instances.segments.numpy()
    assert np.allclose(seg, [[86, 128]], atol=1e-4)


def test_feature_offset_and_fps_override(tmp_path):
    videos = {'v1': ('Validation', 20.0, [(2.0, 6.0, 'A')])}
    ann, feat, _ = _thumos_setup(tmp_path, videos, fps=25.0)
    ds = ThumosFeatureDataset(ann_file=ann, data_prefix=dict(feature=feat), fps=30.0,
                              feature_offset_frames=8, window_size=64, window_stride=32)
    s = ds[0]['data_samples']
    assert s.snippet_seconds == pytest.approx(4 / 30)
    assert s.window_start == pytest.approx(8 / 30)
    back = snippets_to_seconds(s.gt_instances.segments.numpy(), s.window_start,
                               s.snippet_seconds)
    assert np.allclose(back, [[2.0, 6.0]], atol=1e-4)


@pytest.mark.parametrize('test_mode', [True, False])
def test_round_trip_real_thumos(tmp_path, test_mode):
    with open(THUMOS_ANNO) as f:
        db = json.load(f)['database']
    names = sorted(v for v in db if db[v]['subset'] == 'Validation')[:25]
    videos = {v: (db[v]['subset'], db[v]['duration'],
                  [(a['segment'][0], a['segment'][1], a['label']) for a in db[v]['annotations']])
              for v in names}
    fps_of = {v: db[v]['fps'] for v in names}
    sub = {'database': {v: db[v] for v in names}}
    ann = write_json(tmp_path / 'sub.json', sub)
    lengths = {v: max(1, int(db[v]['duration'] * db[v]['fps'] / 4)) for v in names}
    write_npy_features(str(tmp_path / 'feat'), lengths, 4, prefix='')
    _, file_classes = parse_annotation_file(THUMOS_ANNO)
    ds = ThumosFeatureDataset(ann_file=ann, data_prefix=dict(feature=str(tmp_path / 'feat')),
                              classes=file_classes, test_mode=test_mode)
    classes = ds.metainfo['classes']
    assert len(classes) == 20 and classes[0] == 'BaseballPitch'

    merged = {v: set() for v in names}
    pieces = {v: [] for v in names}
    starts = {v: [] for v in names}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        item = ds.pipeline(info)
        s = item['data_samples']
        assert item['inputs'].shape == (4, 128)
        seg = s.gt_instances.segments.numpy()
        assert np.all(seg[:, 0] >= 0) and np.all(seg[:, 1] <= 128) and np.all(seg[:, 1] > seg[:, 0])
        if not test_mode:
            assert len(seg) > 0  # windows without actions are dropped in training
        # "perfect predictions": the window ground truth mapped back to seconds
        back = snippets_to_seconds(seg, s.window_start, s.snippet_seconds)
        for (a, b), lab in zip(back, s.gt_instances.labels.tolist()):
            merged[s.video_name].add((round(a, 2), round(b, 2), classes[lab]))
            pieces[s.video_name].append((a, b, classes[lab]))
        starts[s.video_name].append(info['window_start_idx'])
        assert s.gt_video == [[float(a), float(b), lab] for a, b, lab in videos[s.video_name][2]]

    exact = total = 0
    for v in names:
        step = 4 / fps_of[v]
        if test_mode:  # evaluation windows cover the whole video
            assert starts[v] == window_starts(lengths[v], 128, 64)
        for a, b, lab in videos[v][2]:
            lo, hi = a / step, min(b / step, lengths[v])
            if hi <= lo:
                continue
            total += 1
            if covering_windows((lo, hi), starts[v], 128):
                # every action lying wholly inside a window is reproduced exactly
                assert (round(a, 2), round(min(b, lengths[v] * step), 2), lab) in merged[v]
                exact += 1
        # every window piece lies inside a ground-truth action of the same label
        for a, b, lab in pieces[v]:
            assert any(lab == l2 and a >= a2 - 1e-3 and b <= b2 + 1e-3
                       for a2, b2, l2 in videos[v][2])
    assert total > 40 and exact > 0.7 * total  # nearly all actions lie inside a window
