"""The end-to-end configs: each builds (model, pipelines, optimiser groups) as a user
would get it, and the ActivityNet one trains and validates through a stock MMEngine
Runner on the real short videos of tests/data (shrunk: TSM-R18, 8 snippets of 2 frames)."""
import copy
import glob
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import etad_mmaction  # noqa: F401
from mmaction.registry import DATASETS, MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'etad_e2e', '*.py')))
VIDEOS = osp.join(ROOT, 'tests', 'data', 'videos')  # real footage, tests/data
# (config, encoder lr): App. B.2, 1e-6 for TSM / SlowOnly, 1e-7 for R(2+1)D; the
# embedded default (a small encoder pretrained on synthetic clips) trains it at 1e-4
ENCODER_LR = {'official': 5e-7, 'r2plus1d': 1e-7, 'synthetic-video': 1e-4}
DETECTOR_LR = {'official': 5e-4}   # the authors' released end-to-end recipe
SNIPPETS = {'synthetic-video': 16}


def _key(path, table):
    return next((k for k in table if k in osp.basename(path)), '')


def _no_download(cfg):
    enc = cfg.model.encoder
    enc.pop('init_cfg', None)
    enc.pop('pretrained', None)
    return cfg


def test_all_e2e_configs_found():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'etad-e2e_tsm-r50-224-8f_4xb4-6e_anet.py',
            'etad-e2e_r2plus1d-34-112-16f_4xb4-6e_anet.py',
            'etad-e2e_slowonly-r50-180-8f_4xb4-6e_thumos.py',
            'etad-e2e_tsm-r50-180-8f_4xb4-6e_thumos.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_e2e_config_builds(path):
    cfg = _no_download(Config.fromfile(path))
    assert cfg.model.type == 'ETADEndToEnd' and cfg.model.egs.ratio == 0.3
    assert cfg.model_wrapper_cfg.type == 'mmaction.ETADDistributedDataParallel'
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
        for loader in (cfg.train_dataloader, cfg.val_dataloader):
            assert loader.dataset.type in DATASETS
            for t in loader.dataset.pipeline:
                TRANSFORMS.build(copy.deepcopy(t))
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    assert model.detector.num_snippets == SNIPPETS.get(_key(path, SNIPPETS), 128)
    assert model.detector.neck.in_channels == model.encoder.out_channels
    # the first two stages and every BatchNorm frozen, and left out of the optimiser
    in_optim = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    for name, p in model.named_parameters():
        assert (id(p) in in_optim) == p.requires_grad, name
    frozen = model.encoder.backbone.layer2
    assert not any(p.requires_grad for p in frozen.parameters())
    lr = ENCODER_LR.get(_key(path, ENCODER_LR), 1e-6)
    enc_ids = {id(p) for p in model.encoder.parameters()}
    for g in optim.optimizer.param_groups:
        if any(id(p) in enc_ids for p in g['params']):
            assert g['lr'] == pytest.approx(lr)
        else:
            assert g['lr'] == pytest.approx(DETECTOR_LR.get(_key(path, DETECTOR_LR), 1e-3))


def _tiny_video_data(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    for name, src in (('v_a', 'demo.mp4'), ('v_b', 'test.mp4'), ('v_c', 'demo.mp4')):
        os.symlink(osp.abspath(osp.join(VIDEOS, src)), videos / f'{name}.mp4')
    db = {
        'a': dict(subset='training', duration=10.0, annotations=[
            dict(segment=[1.0, 4.0], label='Jump'), dict(segment=[6.0, 9.5], label='Run')]),
        'b': dict(subset='training', duration=10.0, annotations=[
            dict(segment=[2.0, 7.0], label='Run')]),
        'c': dict(subset='validation', duration=10.0, annotations=[
            dict(segment=[3.0, 8.0], label='Jump')]),
    }
    with open(tmp_path / 'anet.json', 'w') as f:
        json.dump(dict(version='t', database=db), f)


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['injection'])
def test_e2e_runner_round_trip_on_real_videos(tmp_path, mode):
    _tiny_video_data(tmp_path)
    cfg = _no_download(Config.fromfile(osp.join(
        ROOT, 'configs', 'etad_e2e', 'etad-e2e_tsm-r50-224-8f_4xb4-6e_anet.py')))
    m, t = 8, 2

    def pipe(crop):
        return [dict(type='TADDecordInit'),
                dict(type='SampleSnippets', clip_len=t, frame_interval=None),
                dict(type='TADDecordDecode'), dict(type='Resize', scale=(-1, 40)),
                crop, dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackTADInputs')]
    data = dict(data_root=str(tmp_path), ann_file='anet.json', num_snippets=m)
    cfg.merge_from_dict({
        'model.encoder.backbone.depth': 18, 'model.encoder.backbone.num_segments': t,
        'model.feature_channels': 512, 'model.detector.num_snippets': m,
        'model.detector.max_duration': m,
        'model.egs': dict(ratio=0.5, mode=mode, sampler=dict(type='RandomSampler'),
                          chunk_size=3),
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset': dict(data, pipeline=pipe(dict(type='RandomCrop', size=32))),
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
        'train_cfg.max_epochs': 2, 'work_dir': str(tmp_path / 'work'),
        'default_hooks.checkpoint.max_keep_ckpts': 2,  # both epochs are compared below
        'val_evaluator.blocked_file': None, 'test_evaluator.blocked_file': None,
    })
    for key in ('val_dataloader', 'test_dataloader'):
        ds = cfg[key].dataset
        ds.update(data, pipeline=pipe(dict(type='CenterCrop', crop_size=32)))
        ds.pop('classifier_file')
        ds.pop('exclude_videos')
    runner = Runner.from_cfg(cfg)
    runner.train()
    # epoch 1 -> epoch 2 (weights-only loading, as resume does)
    before, after = (torch.load(osp.join(cfg.work_dir, f'epoch_{e}.pth'),
                                weights_only=True)['state_dict'] for e in (1, 2))
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert any(n.startswith('encoder.backbone.layer4') for n in changed)
    assert any(n.startswith('detector.') for n in changed)
    # frozen stem / stages 1-2 and every BatchNorm statistic stay as they were
    assert not any(n.startswith(('encoder.backbone.layer1', 'encoder.backbone.layer2',
                                 'encoder.backbone.conv1')) or 'running_' in n
                   for n in changed), sorted(changed)[:5]
    metrics = runner.test()
    assert 0.0 <= metrics['avg_mAP'] <= 1.0
