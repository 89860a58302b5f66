"""The ETAD detector as a whole: shapes, gradients, overfitting, prediction, every
sampler, configuration errors and earlier keys."""
import pytest
import torch

import etad_mmaction  # noqa: F401
from etad_mmaction.models.utils import valid_proposals
from etad_mmaction.testing import C, T, make_samples, small_model
from mmaction.registry import MODELS


def test_module_shapes_and_dtypes():
    model = small_model()
    feats = torch.randn(2, C, T)
    x, bd = model.extract_feat(feats)
    assert x.shape == (2, 32, T) and bd.shape == (2, 2, T)
    assert bd.dtype == torch.float32 and bool(((bd > 0) & (bd < 1)).all())
    props = valid_proposals(T, T).float()[None].repeat(2, 1, 1)
    outs = model.roi_head(x, props)
    assert len(outs) == 3
    for out in outs:
        for key in ('start_offset', 'end_offset', 'center_offset', 'width_offset',
                    'start_prob', 'end_prob', 'iou_cls', 'iou_reg'):
            assert out[key].shape == props.shape[:2], key
        assert out['refined'].shape == props.shape
    raw = model(feats, make_samples(), mode='tensor')
    assert raw['segments'].shape == props.shape and raw['scores'].shape == props.shape[:2]


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = small_model(sampler=None)  # all proposals
    # low thresholds so that every stage has regression positives at random init
    model.roi_head.train_cfg['stage_pos_iou_thrs'] = (0.3, 0.3, 0.3)
    losses = model(torch.randn(2, C, T), make_samples(), mode='loss')
    assert {'loss_boundary', 's0.loss_iou', 's2.loss_regression'} <= set(losses)
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_overfits_tiny_batch():
    torch.manual_seed(0)
    model = small_model(sampler=dict(type='RandomSampler', ratio=0.3))
    feats = torch.randn(2, C, T)
    samples = make_samples()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(80):
        loss = sum(model(feats, samples, mode='loss').values())
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first / 10
    model.eval()
    pred = model(feats, samples, mode='predict')[0].pred_instances
    top = pred.segments[0] / 2.0  # seconds -> snippets (32 s over 16 snippets)
    gts = torch.tensor([[2., 6.], [9., 14.]])
    assert min(float((top - g).abs().max()) for g in gts) < 1.0


def test_predict_outputs_seconds_and_batch():
    model = small_model().eval()
    samples = make_samples(3)
    samples[2].set_metainfo(dict(window_start=100.0))
    out = model(torch.randn(3, C, T), samples, mode='predict')
    for ds in out:
        pred = ds.pred_instances
        assert pred.segments.shape[1] == 2 and len(pred.scores) == len(pred.segments) > 0
        assert torch.isfinite(pred.scores).all() and bool((pred.scores >= 0).all())
    assert float(out[2].pred_instances.segments.min()) >= 0
    assert float(out[0].pred_instances.segments.max()) <= 32.0


@pytest.mark.parametrize('sampler', [
    dict(type='GridSampler', ratio=0.2), dict(type='BlockSampler', ratio=0.2),
    dict(type='FPSSampler', ratio=0.2), dict(type='DPPSampler', ratio=0.2),
    dict(type='IoUBalancedSampler', ratio=0.2), dict(type='ScaleBalancedSampler', ratio=0.2)])
def test_every_sampler_trains(sampler):
    model = small_model(sampler=sampler)
    losses = model(torch.randn(2, C, T), make_samples(), mode='loss')
    assert torch.isfinite(sum(losses.values()))


def test_invalid_configuration_names_the_key():
    with pytest.raises(ValueError, match='ratio'):
        small_model(sampler=dict(type='RandomSampler', ratio=1.5))
    with pytest.raises(KeyError, match='model.roi_head.proposal_sampler'):
        small_model(sampler=dict(type='NoSuchSampler', ratio=0.1))
    with pytest.raises(ValueError, match='neck.out_channels'):
        small_model(roi_head=dict(stage_head=dict(in_channels=16)))
    with pytest.raises(TypeError, match='model.neck'):
        small_model(neck=None)
    with pytest.raises(KeyError, match='iou_cls_pos_thr'):
        MODELS.build(dict(type='ETADLoss', iou_cls_pos_threshold=0.9))
    with pytest.raises(ValueError, match='max_duration'):
        small_model(max_duration=T + 1)
    model = small_model()
    with pytest.raises(ValueError, match='num_snippets'):
        model(torch.randn(2, C, T + 2), make_samples(), mode='loss')
    with pytest.raises(ValueError, match='in_channels'):
        model(torch.randn(2, C + 1, T), make_samples(), mode='loss')
    with pytest.raises(KeyError, match='loss_weights'):
        MODELS.build(dict(type='ETADLoss', loss_weights=dict(bogus=1.0)))


def test_earlier_keys_and_checkpoints_still_load(caplog):
    """Configs and checkpoints of the pre-RoI-head layout: translated with a warning."""
    old = MODELS.build(dict(
        type='ETAD', num_snippets=T,
        neck=dict(type='LSTMFeatureEnhancement', in_channels=C, hidden_channels=32,
                  branch_channels=16, out_channels=32, num_groups=4),
        boundary_head=dict(type='BoundaryHead', in_channels=32, feat_channels=32, num_groups=4),
        proposal_head=dict(type='CascadeProposalHead', in_channels=32, roi_channels=16,
                           hidden_dims=(32, 16, 16, 16), num_groups=4,
                           pos_iou_thresholds=(0.5, 0.6, 0.7)),
        sampler=dict(ratio=0.25), test_cfg=dict(peak_ratio=0.4)))
    head = old.roi_head
    assert head.train_cfg['stage_pos_iou_thrs'] == (0.5, 0.6, 0.7)
    assert type(head.proposal_sampler).__name__ == 'RandomSampler'   # type kept, ratio merged
    assert head.proposal_sampler.ratio == 0.25 and head.test_cfg['peak_ratio'] == 0.4
    new = small_model()
    state = {k.replace('roi_head.', 'proposal_head.'): v for k, v in new.state_dict().items()}
    assert any(k.startswith('proposal_head.') for k in state)
    old.load_state_dict(state, strict=True)
    for k, v in new.state_dict().items():
        assert torch.equal(old.state_dict()[k], v), k


def test_model_level_cfg_keys_are_checked():
    with pytest.raises(KeyError, match='model.roi_head.test_cfg.score'):
        small_model(test_cfg=dict(score='released'))
    with pytest.raises(KeyError, match='model.roi_head.train_cfg.negatives'):
        small_model(train_cfg=dict(negatives='batch_ratio'))
    with pytest.raises(KeyError, match="_delete_"):
        small_model(test_cfg=dict(nms=dict(type='gaussian_soft_nms', alpha=0.4)))
    with pytest.raises(ValueError, match='model.roi_head.test_cfg.score'):
        small_model(roi_head=dict(test_cfg=dict(score='bogus')))
    loss = MODELS.build(dict(type='ETADLoss', loss_weights=dict(iou_cls=1.0, iou_reg=1.0,
                                                                iou=2.0)))
    assert loss.loss_weights['iou_cls'] == loss.loss_weights['iou_reg'] == 2.0
