"""The official-code preset equals the authors' released ETAD (sming256/ETAD).

The expected values come from ``official_etad_reference.py``, an independent
test-only restatement of the authors' definitions (checked against their code
outside this project). Their weights are converted with the project's converter,
with every bias and norm affine perturbed from its init so that no mapping error
hides behind zeros.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

import etad_mmaction  # noqa: F401
from etad_mmaction.models.converters import convert_official_state_dict
from etad_mmaction.models.roi_heads import ETADRoIHead
from etad_mmaction.models.utils import select_and_suppress
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from official_etad_reference import (ReferenceDetector, reference_detections,
                                     reference_losses, reference_scores, reference_targets)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
PRESET = osp.join(ROOT, 'configs', 'etad', 'etad-official_1xb16-6e_anet-tsp-feature.py')
T = 64      # the preset at T = 64 (the authors' code takes T from its config) keeps this fast
GTS = ([[5.3, 20.7], [31.2, 50.9]], [[1.5, 60.2]])             # snippet units, per video


@pytest.fixture(scope='module', autouse=True)
def scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


@pytest.fixture(scope='module')
def pair():
    """(reference, preset model) holding the same perturbed weights."""
    torch.manual_seed(0)
    ref = ReferenceDetector(in_channels=512, tscale=T).eval()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if name.endswith('bias') or p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    state = {f'module.base_detector.{k}': v.clone() for k, v in ref.state_dict().items()}
    cfg = Config.fromfile(PRESET).model
    cfg.update(num_snippets=T, max_duration=T)
    model = MODELS.build(cfg)
    model.load_state_dict(convert_official_state_dict(state), strict=True)
    return ref, model.eval()


def samples(b=2):
    out = []
    for i in range(b):
        ds = ActionDataSample()
        gt = InstanceData()
        gt.segments = torch.tensor(GTS[i % 2])
        gt.labels = torch.zeros(len(GTS[i % 2]), dtype=torch.long)
        ds.gt_instances = gt
        ds.set_metainfo(dict(video_name=f'v{i}', sample_idx=i, num_snippets=T, duration=float(T),
                             window_start=0.0, snippet_seconds=1.0))
        out.append(ds)
    return out


def test_preset_parameter_count_and_converter_errors(pair):
    _, model = pair
    assert sum(p.numel() for p in model.parameters()) == 10_343_450   # also at T = 128
    with pytest.raises(KeyError, match='no place'):
        convert_official_state_dict({'base_detector.tem.0.weight': torch.zeros(1),
                                     'base_detector.unknown.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='branches'):
        convert_official_state_dict({'stage_pem.0.iou_fc.0.weight': torch.zeros(4, 3)})


def test_cascade_outputs_equal_the_authors(pair):
    ref, model = pair
    torch.manual_seed(1)
    feats = torch.randn(2, 512, T)
    idx = torch.stack([torch.randperm(model.roi_head.anchors.shape[0])[:300] for _ in range(2)])
    props = model.roi_head.anchors[idx].float()                     # [2, 300, 2] snippets
    with torch.no_grad():
        tem, stages = ref(feats, props / T)
        x, bd = model.extract_feat(feats)
        outs = model.roi_head(x, props)
    torch.testing.assert_close(bd, tem, atol=1e-5, rtol=0)
    for (anchors, iou, reg), out in zip(stages, outs):
        torch.testing.assert_close(out['proposals'] / T, anchors, atol=1e-5, rtol=0)
        got_iou = torch.stack([out['iou_cls'], out['iou_reg']], -1).view(-1, 2)
        torch.testing.assert_close(got_iou, iou, atol=1e-4, rtol=0)
        got_reg = torch.stack([out[k] for k in ('start_offset', 'end_offset', 'center_offset',
                                                'width_offset', 'start_prob', 'end_prob')], -1)
        torch.testing.assert_close(got_reg.view(-1, 6), reg, atol=1e-4, rtol=0)


def test_scores_and_top100_detections_equal_the_authors(pair):
    ref, model = pair
    torch.manual_seed(2)
    feats = torch.randn(2, 512, T)
    with torch.no_grad():
        anchors = model.roi_head.anchors.float()[None].expand(2, -1, -1)
        tem, stages = ref(feats, anchors / T)
        raw = model.forward_tensor(feats, samples())
    expected = reference_scores(tem, stages, T)
    dets = select_and_suppress(raw['segments'], raw['scores'], raw['valid'], T,
                               model.test_cfg['nms'])
    for b, (xmin, xmax, score) in enumerate(expected):
        valid = raw['valid'][b]
        assert int(valid.sum()) == len(score) > 100
        got = torch.stack([raw['segments'][b][valid, 0] / T, raw['segments'][b][valid, 1] / T,
                           raw['scores'][b][valid]], 1).double().numpy()
        diff = np.abs(got - np.stack([xmin, xmax, score], 1))
        # float rounding may move one bilinear sample across a snippet boundary in a
        # refined stage (seen: 1 value in 24,768 off by 1.2e-4 at T = 128)
        assert diff.max() < 1e-3 and (diff > 1e-4).mean() < 5e-4, diff.max()
        want = reference_detections(xmin, xmax, score)[:100]
        seg, sc = dets[b]
        assert len(sc) == len(want) == 100
        np.testing.assert_allclose(sc.double().numpy(), want[:, 0], atol=1e-4)
        np.testing.assert_allclose((seg / T).double().numpy(), want[:, 1:], atol=1e-4)


def test_each_loss_term_equals_the_authors(pair, monkeypatch):
    ref, model = pair
    model.train()
    torch.manual_seed(3)
    feats = torch.randn(2, 512, T)
    n = model.roi_head.anchors.shape[0]
    k = model.roi_head.proposal_sampler.num_samples(n)
    fixed = torch.stack([torch.randperm(n)[:k] for _ in range(2)])
    uniforms = torch.rand(5, 3, 2, k)

    class Fixed:
        requires = ()
        batched = True

        def sample_batch(self, keys, num, **kw):
            return fixed

    monkeypatch.setattr(model.roi_head, 'proposal_sampler', Fixed())
    monkeypatch.setattr(ETADRoIHead, 'uniforms', staticmethod(lambda *a: uniforms))
    got = model(feats, samples(), mode='loss')
    props = model.roi_head.anchors[fixed].float() / T
    tem, stages = ref(feats, props)
    gt_start, gt_end, gt_bbox = reference_targets(
        [np.asarray(GTS[i % 2]) / T for i in range(2)], props, T)
    names = ('iou_cls', 'iou_mid', 'iou_low', 'start_cls', 'end_cls')
    u = [{name: uniforms[j, s].reshape(-1) for j, name in enumerate(names)} for s in range(3)]
    want = reference_losses(tem, stages, gt_start, gt_end, gt_bbox, uniforms=u)
    torch.testing.assert_close(got['loss_boundary'], want['tem'], atol=1e-4, rtol=1e-4)
    for s, w in enumerate(want['stages']):
        torch.testing.assert_close(got[f's{s}.loss_iou'], w['iou_cls'] + w['iou_reg'],
                                   atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(got[f's{s}.loss_regression'], w['reg_se'] + w['reg_cw'],
                                   atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(got[f's{s}.loss_proposal_boundary'], w['cls_se'],
                                   atol=1e-4, rtol=1e-4)
    total = sum(v for v in got.values())
    torch.testing.assert_close(total, want['cost'], atol=1e-3, rtol=1e-4)
    model.eval()


@pytest.mark.slow
def test_converter_tool_writes_a_checkpoint_the_preset_loads_strictly(tmp_path, pair):
    import subprocess
    import sys
    ref, model = pair
    src = tmp_path / 'epoch_5.pth.tar'
    torch.save(dict(epoch=5, state_dict={f'module.base_detector.{k}': v
                                         for k, v in ref.state_dict().items()}), src)
    dst = tmp_path / 'converted.pth'
    tool = osp.join(ROOT, 'tools', 'model_converters', 'convert_official_etad.py')
    run = subprocess.run([sys.executable, tool, str(src), str(dst)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    preset = MODELS.build(Config.fromfile(PRESET).model)
    preset.load_state_dict(ckpt['state_dict'], strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(preset.state_dict()[key], value), key
    bad = tmp_path / 'bad.pth'
    torch.save({'tem.0.weight': torch.zeros(1), 'mystery.weight': torch.zeros(1)}, bad)
    run = subprocess.run([sys.executable, tool, str(bad), str(tmp_path / 'x.pth')],
                         capture_output=True, text=True)
    assert run.returncode != 0 and 'mystery.weight' in run.stderr
    assert not (tmp_path / 'x.pth').exists()


def test_roi_align_taps_equal_torchvision():
    """The 'roi_align' convention equals torchvision's roi_align(aligned=False) on a
    [C, T, 1] map, including regions past the ends, inverted and shorter than one snippet."""
    torchvision = pytest.importorskip('torchvision')
    from etad_mmaction.models.roi_heads import TemporalRoIExtractor
    torch.manual_seed(4)
    t, c = 20, 3
    feats = torch.randn(2, c, t, dtype=torch.float64)
    props = torch.tensor([[[0.0, 20.0], [3.3, 7.9], [-4.0, 2.0], [18.5, 26.0]],
                          [[5.0, 5.2], [9.0, 8.0], [-30.0, -25.0], [0.4, 19.6]]],
                         dtype=torch.float64)
    ext = TemporalRoIExtractor(convention='roi_align', extended_bins=8, boundary_bins=2,
                               boundary_from_extended=True)
    (bd_idx, bd_w), (x_idx, x_w) = ext(props, t)
    got = TemporalRoIExtractor.gather(feats, (x_idx, x_w))[0].view(2, 4, 8, c)
    lo, hi = ext.regions(props)[..., 2, 0], ext.regions(props)[..., 2, 1]
    boxes = torch.stack([torch.arange(2, dtype=torch.float64).repeat_interleave(4),
                         torch.zeros(8, dtype=torch.float64), lo.reshape(-1),
                         torch.ones(8, dtype=torch.float64), hi.reshape(-1)], 1)
    ref = torchvision.ops.roi_align(feats.unsqueeze(-1), boxes, output_size=(8, 1),
                                    aligned=False)[..., 0]           # [8, C, bins]
    torch.testing.assert_close(got.reshape(8, 8, c).transpose(1, 2), ref, atol=1e-12, rtol=0)
    start = TemporalRoIExtractor.gather(feats, (bd_idx[:, :, :1], bd_w[:, :, :1]))[0]
    torch.testing.assert_close(start.view(2, 4, 2, c), got[:, :, :2], atol=1e-12, rtol=0)


def test_gaussian_soft_nms_equals_the_authors_loop():
    from etad_mmaction.structures import segment_gaussian_soft_nms
    from official_etad_reference import reference_soft_nms
    rng = np.random.default_rng(5)
    for n in (1, 2, 30, 150):
        s = rng.uniform(-0.1, 0.9, n)
        seg = np.stack([s, s + rng.uniform(0.0, 0.4, n)], 1)
        score = rng.uniform(0, 1, n)
        kept, sc = segment_gaussian_soft_nms(torch.from_numpy(seg), torch.from_numpy(score),
                                             keep_last=False)
        want = (reference_soft_nms(seg[:, 0], seg[:, 1], score) if n > 1
                else np.array([[score[0], seg[0, 0], seg[0, 1]]]))
        assert len(sc) == len(want) == min(100, max(n - 1, 1))
        np.testing.assert_allclose(sc.numpy(), want[:, 0], atol=1e-12)
        np.testing.assert_allclose(kept.numpy(), want[:, 1:], atol=1e-12)
