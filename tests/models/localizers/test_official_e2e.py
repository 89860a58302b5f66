"""The authors' end-to-end release (issue 23): a checkpoint in their key layout converts
and loads strictly (also through tools/test.py), the converted model reproduces a
restatement of their model in float64, and the official end-to-end preset trains on
the embedded synthetic videos (a short CPU run, shrunk by options only)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import etad_mmaction  # noqa: F401
from etad_mmaction.models.converters import convert_official_e2e_state_dict, is_official_e2e
from etad_mmaction.testing import load_tool
from mmaction.registry import MODELS
from official_etad_e2e_reference import ReferenceEndToEnd

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
PRESET = osp.join(ROOT, 'configs', 'etad_e2e', 'etad-e2e-official_r2plus1d-34-tsp_1xb4-6e_anet.py')
KEYS = osp.join(ROOT, 'tests', 'data', 'official_etad', 'e2e_checkpoint_keys.json')
T = 16          # snippets (the authors' code takes T from its config; no parameter depends on it)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def reference():
    """Their model (restated) with random BN statistics / affine parameters and
    perturbed detector biases, so that no mapping error hides behind an init value."""
    torch.manual_seed(0)
    ref = ReferenceEndToEnd(tscale=T)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in ref.modules():
            if isinstance(mod, torch.nn.BatchNorm3d):
                c = mod.num_features
                mod.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                mod.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
        for name, p in ref.base_detector.named_parameters():
            if name.endswith('bias') or p.dim() == 1:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return ref.eval()


def preset_model(**detector):
    cfg = Config.fromfile(PRESET).model
    cfg.encoder.pop('pretrained')
    cfg.detector.update(num_snippets=T, max_duration=T, **detector)
    return MODELS.build(cfg)


def test_restatement_has_every_key_of_their_checkpoint(reference):
    """Names and shapes as their code builds them (tests/data, from their model)."""
    with open(KEYS) as f:
        theirs = json.load(f)
    assert {k: list(v.shape) for k, v in reference.state_dict().items()} == theirs
    assert len(theirs) == 591 and is_official_e2e(theirs)


def test_converted_forward_equals_their_model_float64(reference):
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    model = preset_model()
    model.load_state_dict(convert_official_e2e_state_dict(state), strict=True)
    model, ref = model.double().eval(), reference.double()
    gen = torch.Generator().manual_seed(2)
    video = torch.randint(0, 256, (2, T, 3, 2, 16, 16), generator=gen).double()
    idx = torch.stack([torch.randperm(model.detector.roi_head.anchors.shape[0],
                                      generator=gen)[:60] for _ in range(2)])
    props = model.detector.roi_head.anchors[idx].double()
    with torch.no_grad():
        want_feats = ref.features(video)
        tem, stages = ref(video, props / T)
        x = model.data_preprocessor(dict(inputs=list(video), data_samples=None))['inputs']
        feats = model.extract_feat(x, None, training=False)
        xd, bd = model.detector.extract_feat(feats)
        outs = model.detector.roi_head(xd, props)
    reference.float()
    assert x.dtype == torch.float64 and want_feats.abs().max() > 0.1
    torch.testing.assert_close(feats, want_feats, rtol=0, atol=1e-10)
    torch.testing.assert_close(bd, tem, rtol=0, atol=1e-10)
    for (anchors, iou, reg), out in zip(stages, outs):
        torch.testing.assert_close(out['proposals'] / T, anchors, rtol=0, atol=1e-10)
        got_iou = torch.stack([out['iou_cls'], out['iou_reg']], -1).view(-1, 2)
        torch.testing.assert_close(got_iou, iou, rtol=0, atol=1e-10)
        got_reg = torch.stack([out[k] for k in ('start_offset', 'end_offset', 'center_offset',
                                                'width_offset', 'start_prob', 'end_prob')], -1)
        torch.testing.assert_close(got_reg.view(-1, 6), reg, rtol=0, atol=1e-10)


def test_conversion_errors(reference):
    state = reference.state_dict()
    with pytest.raises(KeyError, match='mystery'):
        convert_official_e2e_state_dict(dict(state, **{'mystery.weight': torch.zeros(1)}))
    bad = {k: v for k, v in state.items() if k != 'feature_extractor.model.backbone.stem.0.weight'}
    with pytest.raises(KeyError, match='stem'):
        convert_official_e2e_state_dict(bad)


# ------------------------------------------------------------------ tools, training
@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    from etad_mmaction.datasets.synthetic import ensure_synthetic_dataset
    root = str(tmp_path_factory.mktemp('official_e2e') / 'data')
    ensure_synthetic_dataset(root, kind='video', num_train=4, num_val=2, num_source=8,
                             pretrain_steps=2, seed=0, progress=False)
    return root


def small_options(data_root):
    """The preset on the synthetic videos at a CPU size: options only."""
    opts = {'model.encoder.pretrained': None, 'model.detector.num_snippets': T,
            'model.detector.max_duration': T, 'train_cfg.max_epochs': 1,
            'train_cfg.val_interval': 1, 'param_scheduler.0.milestones': [1],
            'param_scheduler.0.end': 1, 'val_evaluator.blocked_file': None,
            'test_evaluator.blocked_file': None}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        d = f'{key}.dataset'
        opts.update({f'{key}.batch_size': 2, f'{key}.num_workers': 0,
                     f'{key}.persistent_workers': False, f'{d}.data_root': data_root,
                     f'{d}.ann_file': 'gt.json', f'{d}.data_prefix.video': 'videos',
                     f'{d}.num_snippets': T, f'{d}.pipeline.1.clip_len': 2,
                     f'{d}.pipeline.1.num_clips': T, f'{d}.pipeline.3.scale': (43, 32)})
        if key == 'train_dataloader':
            opts[f'{d}.pipeline.4.size'] = 28
        else:
            opts.update({f'{d}.pipeline.4.crop_size': 28, f'{d}.classifier_file': None,
                         f'{d}.exclude_videos': None})
    return opts


def cli_options(opts):
    def fmt(v):
        if isinstance(v, tuple):
            return '(' + ','.join(map(str, v)) + ')'
        if isinstance(v, list):
            return '[' + ','.join(map(str, v)) + ']'
        return str(v)
    return [f'{k}={fmt(v)}' for k, v in opts.items()]


@pytest.mark.slow  # tools/test.py and post_process.py subprocesses
def test_converter_cli_and_strict_load_through_test_tool(reference, videos, tmp_path):
    cli = load_tool('model_converters/convert_official_etad.py')
    src, dst = str(tmp_path / 'e2e_epoch_5.pth.tar'), str(tmp_path / 'e2e_official.pth')
    torch.save(dict(epoch=5, state_dict=reference.state_dict()), src)
    assert cli.main([src, dst]) == 0
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert saved['meta']['kind'] == 'e2e' and saved['meta']['epoch'] == 5
    assert saved['meta']['config'].endswith(osp.basename(PRESET))
    with pytest.raises(SystemExit, match='exists; pass --force'):
        cli.main([src, dst])
    with pytest.raises(SystemExit, match='is the input'):
        cli.main([src, src, '--force'])
    assert cli.main([src, dst, '--force']) == 0
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    opts = cli_options(small_options(videos))
    raw, sub = str(tmp_path / 'raw'), str(tmp_path / 'sub.json')
    run = subprocess.run([sys.executable, 'tools/test.py', PRESET, dst, '--work-dir',
                          str(tmp_path / 'w'), '--out', sub, '--dump-raw', raw,
                          '--cfg-options', *opts],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'avg_mAP' in run.stdout + run.stderr
    # their post-processing (Gaussian Soft-NMS, clipped after) re-run from the raw dump
    post = load_tool('analysis/post_process.py')
    sub2 = str(tmp_path / 'post.json')
    post.main([PRESET, raw, '--out', sub2, '--cfg-options', *opts])
    with open(sub) as f, open(sub2) as g:
        assert json.load(f) == json.load(g)
    # a checkpoint of another width fails the converter's strict check, by name
    state = dict(reference.state_dict())
    key = 'base_detector.tem.2.weight'
    state[key] = torch.zeros(3, 256, 1)
    torch.save(dict(state_dict=state), src)
    with pytest.raises(SystemExit, match='detector.boundary_head.layers.2.weight'):
        cli.main([src, str(tmp_path / 'other.pth')])
    assert not osp.exists(tmp_path / 'other.pth')


@pytest.mark.slow  # a Runner training on synthetic videos
def test_official_preset_trains_on_synthetic_videos(videos, tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(PRESET)
    cfg.merge_from_dict(small_options(videos))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.checkpoint.update(interval=100, save_last=False, save_best=None)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    egs = model.egs
    assert (egs.mode, egs.chunk_size, egs.count, egs.num_grad(128)) == ('injection', 4,
                                                                       'chunks', 40)
    assert egs.num_grad(T) == 8             # 0.3 * 16 / 4 = 1.2 -> 2 chunks
    enc = model.encoder.backbone
    bn = enc.layer3[0].conv1.bn             # stage 3: BatchNorm in eval, affine trained
    frozen = enc.layer2[0].conv1.bn
    assert bn.weight.requires_grad and not frozen.weight.requires_grad
    from mmengine.hooks import Hook
    before = {}

    class Snapshot(Hook):               # after the runner's weight initialisation
        def before_train_epoch(self, runner):
            before.update({k: v.clone() for k, v in model.state_dict().items()})

    runner.register_hook(Snapshot())
    runner.train()
    after = model.state_dict()
    assert not torch.equal(before['encoder.backbone.layer3.0.conv1.bn.weight'],
                           after['encoder.backbone.layer3.0.conv1.bn.weight'])
    for k in ('encoder.backbone.layer2.0.conv1.bn.weight',
              'encoder.backbone.layer3.0.conv1.bn.running_mean',
              'encoder.backbone.conv1.conv.conv_s.weight'):
        assert torch.equal(before[k], after[k]), k
    assert not torch.equal(before['detector.boundary_head.layers.0.weight'],
                           after['detector.boundary_head.layers.0.weight'])
    pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline[1] == 'SampleFrames' and pipeline[5:8] == ['Flip', 'TADRandAugment',
                                                               'TADColorJitter']
    assert cfg.train_dataloader.dataset.min_action_ratio == 0.01
