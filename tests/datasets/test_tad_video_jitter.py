"""Temporal jitter of the end-to-end snippet sampling (App. F, Table 12):
uniform offsets within the snippet (or frame) stride, none at test, keyed by
(seed, epoch, sample index) so resumed runs and persistent workers draw the same."""
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmcv.transforms import BaseTransform
from scipy import stats

from etad_mmaction.datasets import ActivityNetVideoDataset, SampleSnippets
from etad_mmaction.engine import ETADSamplingHook
from tad_helpers import VIDEOS, write_json


def keyed(idx, epoch=0, seed=7, **kw):
    return dict(total_frames=kw.pop('total_frames', 128 * 1000), sampling_seed=seed,
                sampling_epoch=epoch, sample_idx=idx, **kw)


def test_snippet_offsets_are_uniform_within_the_snippet_stride():
    m, step = 128, 1000
    t = SampleSnippets(num_snippets=m, jitter='snippet')
    fracs = []
    for idx in range(20):
        inds = t(keyed(idx))['frame_inds']
        frac = (inds - np.arange(m) * step) / step
        assert ((frac >= 0) & (frac < 1)).all()          # inside the snippet's own stride
        fracs.append(frac)
    fracs = np.concatenate(fracs)
    assert stats.kstest(fracs, 'uniform').pvalue > 1e-3
    # consecutive snippets draw independently
    assert abs(np.corrcoef(fracs[:-1], fracs[1:])[0, 1]) < 0.1
    centred = SampleSnippets(num_snippets=m)(keyed(0))['frame_inds']
    np.testing.assert_array_equal(centred, np.arange(m) * step + step // 2)


def test_snippet_jitter_moves_a_clip_as_a_whole():
    t = SampleSnippets(num_snippets=16, clip_len=8, jitter='snippet')
    clips = t(keyed(3, total_frames=16 * 400))['frame_inds'].reshape(16, 8)
    assert (np.diff(clips, axis=1) == 1).all()


def test_frame_offsets_are_uniform_within_the_frame_stride():
    m, t_len, n = 16, 8, 16 * 800          # frame_interval=None: 100 frames between frames
    t = SampleSnippets(num_snippets=m, clip_len=t_len, frame_interval=None, jitter='frame')
    base = (np.arange(m)[:, None] * 800 + 400 + (np.arange(t_len) - 3.5) * 100).reshape(-1)
    fracs = np.concatenate([(t(keyed(i, total_frames=n))['frame_inds'] - (base - 50)) / 100
                            for i in range(20)])
    assert ((fracs >= 0) & (fracs < 1)).all()
    assert stats.kstest(fracs, 'uniform').pvalue > 1e-3


def test_draws_are_a_function_of_seed_epoch_and_sample():
    t = SampleSnippets(num_snippets=64, jitter='snippet')
    ref = t(keyed(5, epoch=2))['frame_inds']
    np.testing.assert_array_equal(SampleSnippets(num_snippets=64, jitter='snippet')(
        keyed(5, epoch=2))['frame_inds'], ref)
    for other in (keyed(5, epoch=3), keyed(6, epoch=2), keyed(5, epoch=2, seed=8)):
        assert not np.array_equal(t(other)['frame_inds'], ref)


def test_no_jitter_at_test_or_by_default():
    plain = SampleSnippets(num_snippets=32, clip_len=4, frame_interval=None)(
        keyed(1))['frame_inds']
    for mode in ('snippet', 'frame'):
        t = SampleSnippets(num_snippets=32, clip_len=4, frame_interval=None, jitter=mode)
        np.testing.assert_array_equal(t(keyed(1, test_mode=True))['frame_inds'], plain)
        assert not np.array_equal(t(keyed(1))['frame_inds'], plain)


def test_jitter_errors():
    with pytest.raises(ValueError, match='jitter must be one of'):
        SampleSnippets(jitter='random')
    with pytest.raises(KeyError, match=r"jitter='snippet'.*sampling_epoch.*video 'v1'"):
        SampleSnippets(num_snippets=4, jitter='snippet')(
            dict(total_frames=100, sampling_seed=0, sample_idx=0, video_name='v1'))


def test_frame_jitter_needs_room_between_frames():
    """Dense clips (frame_interval=1) cannot be frame-jittered: refused."""
    with pytest.raises(ValueError, match=r"jitter='frame' needs frame_interval >= 2.*"
                                         r"frame_interval=1 \(clip_len=8\)"):
        SampleSnippets(num_snippets=16, clip_len=8, frame_interval=1, jitter='frame')
    SampleSnippets(num_snippets=16, clip_len=8, frame_interval=1, jitter='snippet')
    plain = SampleSnippets(num_snippets=16, clip_len=8, frame_interval=4)(
        keyed(2, total_frames=16 * 64))['frame_inds']
    moved = SampleSnippets(num_snippets=16, clip_len=8, frame_interval=4, jitter='frame')(
        keyed(2, total_frames=16 * 64))['frame_inds']
    shift = moved - plain
    assert shift.min() >= -2 and shift.max() <= 2 and np.count_nonzero(shift) > 64


class KeepFrameInds(BaseTransform):
    def transform(self, results):
        return dict(frame_inds=results['frame_inds'], sample_idx=results['sample_idx'])


def _dataset(tmp_path, test_mode=False):
    folder = tmp_path / 'videos'
    folder.mkdir(exist_ok=True)
    db = {}
    for i in range(3):
        if not (folder / f'v{i}.mp4').exists():
            os.symlink(osp.join(VIDEOS, 'demo.mp4'), folder / f'v{i}.mp4')
        db[f'v{i}'] = dict(subset='training', duration=10.0,
                           annotations=[dict(segment=[1.0, 4.0], label='Jump')])
    ann = write_json(str(tmp_path / 'anet.json'), dict(version='t', database=db))
    pipeline = [dict(type='TADDecordInit'),
                dict(type='SampleSnippets', clip_len=1, jitter='snippet'), KeepFrameInds()]
    return ActivityNetVideoDataset(ann_file=ann, data_prefix=dict(video=str(folder)),
                                   subset='training', num_snippets=16, pipeline=pipeline,
                                   test_mode=test_mode)


def _epoch(loader, hook, seed, epoch):
    """One training epoch as the runner runs it: the hook, then the loader."""
    model = SimpleNamespace()
    hook.before_train_epoch(SimpleNamespace(model=model, seed=seed, epoch=epoch,
                                            train_loop=SimpleNamespace(dataloader=loader)))
    return {int(b['sample_idx'][0]): b['frame_inds'][0].numpy() for b in loader}


def test_persistent_workers_and_resume_draw_the_same(tmp_path):
    hook = ETADSamplingHook()
    ds = _dataset(tmp_path)
    # one persistent worker sees each epoch (shared state), as the main process does
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=1,
                                         persistent_workers=True,
                                         multiprocessing_context='fork')
    run = [_epoch(loader, hook, seed=11, epoch=e) for e in range(3)]
    assert not np.array_equal(run[0][0], run[1][0]) and not np.array_equal(run[1][0], run[2][0])
    # a resumed run (fresh dataset, no workers) starts at epoch 2 and draws the same
    fresh = torch.utils.data.DataLoader(_dataset(tmp_path), batch_size=1, num_workers=0)
    resumed = _epoch(fresh, hook, seed=11, epoch=2)
    assert resumed.keys() == run[2].keys() == {0, 1, 2}
    for idx in resumed:
        np.testing.assert_array_equal(resumed[idx], run[2][idx])
    # and equals the transform keyed directly by (seed, epoch, index)
    direct = SampleSnippets(num_snippets=16, jitter='snippet')(
        dict(total_frames=280, sampling_seed=11, sampling_epoch=2, sample_idx=1))
    np.testing.assert_array_equal(run[2][1], direct['frame_inds'])


def test_dataset_in_test_mode_does_not_jitter(tmp_path):
    ds = _dataset(tmp_path, test_mode=True)
    ds.set_sampling_state(seed=3, epoch=4)
    assert ds.get_data_info(0)['test_mode'] is True
    plain = SampleSnippets(num_snippets=16)(dict(total_frames=280))['frame_inds']
    np.testing.assert_array_equal(ds[0]['frame_inds'], plain)
