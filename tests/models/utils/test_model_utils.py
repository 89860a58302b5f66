"""Model utilities: the proposal map, RoI alignment, the parallel MLP, targets and
boundary selection."""
import pytest
import torch

import etad_mmaction  # noqa: F401
from etad_mmaction.models.utils import (ParallelMLP, boundary_selection_mask,
                                        num_valid_proposals, proposal_targets,
                                        snippet_boundary_targets, temporal_roi_align,
                                        valid_proposals)


def test_proposal_map_counts():
    assert num_valid_proposals(128, 128) == 8256
    pairs = valid_proposals(128, 128)
    assert pairs.shape == (8256, 2)
    assert bool(((pairs[:, 0] >= 0) & (pairs[:, 0] < pairs[:, 1]) & (pairs[:, 1] <= 128)).all())
    assert valid_proposals(10, 3).shape[0] == num_valid_proposals(10, 3) == 27
    assert len({tuple(p) for p in pairs.tolist()}) == 8256


def test_roi_align_matches_hand_interpolation():
    feats = torch.arange(6, dtype=torch.float32).view(1, 1, 6) * 10  # x_i = 10 i at i + 0.5
    regions = torch.tensor([[[1.0, 3.0]]])
    out = temporal_roi_align(feats, regions, num_bins=2, samples_per_bin=1)
    # bin centres at 1.5 and 2.5 -> indices 1.0 and 2.0 -> 10, 20
    assert torch.allclose(out, torch.tensor([[[10.0, 20.0]]]))
    out = temporal_roi_align(feats, regions, num_bins=1, samples_per_bin=2)
    # points 1.5, 2.5 -> mean 15
    assert torch.allclose(out, torch.tensor([[[15.0]]]))
    out = temporal_roi_align(feats, torch.tensor([[[0.0, 1.0]]]), num_bins=2, samples_per_bin=1)
    # points 0.25 (index -0.25: 0.75 * x0 + 0.25 * zero pad) and 0.75 (index 0.25)
    assert torch.allclose(out, torch.tensor([[[0.0, 2.5]]]))
    out = temporal_roi_align(feats, torch.tensor([[[2.2, 2.2 + 1e-6]]]), 1, 1)
    assert torch.allclose(out, torch.tensor([[[17.0]]]), atol=1e-3)


def test_parallel_mlp_equals_separate_stacks():
    mlp = ParallelMLP(3, [6, 5, 4, 2])
    x = torch.randn(7, 6)
    out = mlp(x)
    for g in range(3):
        h = x
        for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
            h = h @ w[g] + b[g, 0]
            if i < 2:
                h = torch.relu(h)
        assert torch.allclose(out[g], h, atol=1e-6)
    xs = torch.randn(3, 7, 6)
    assert torch.allclose(mlp(xs)[1], mlp(xs[1])[1], atol=1e-6)


def test_targets():
    gts = [torch.tensor([[2.0, 6.0]])]
    bd = snippet_boundary_targets(gts, 10, radius=1.5)
    assert bd[0, 0].nonzero().flatten().tolist() == [1, 2]   # [0.5, 3.5] covers >half of 1, 2
    assert bd[0, 1].nonzero().flatten().tolist() == [5, 6]
    props = torch.tensor([[[2.0, 6.0], [1.0, 5.0], [7.0, 9.0]]])
    tgt = proposal_targets(props, gts)
    assert torch.allclose(tgt['iou'][0], torch.tensor([1.0, 0.6, 0.0]))
    assert torch.allclose(tgt['offsets'][0, 0], torch.zeros(4))
    assert torch.allclose(tgt['offsets'][0, 1], torch.tensor([0.25, 0.25, 0.25, 0.0]))
    assert tgt['start_cls'][0].tolist() == [1.0, 1.0, 0.0]


def _targets_per_video(proposals, gts, radius=1.5):
    """Reference: the targets of one video at a time (App. A.3), by explicit loops."""
    from etad_mmaction.structures import pairwise_tiou
    b, n = proposals.shape[:2]
    out = dict(iou=torch.zeros(b, n), offsets=torch.zeros(b, n, 4),
               start_cls=torch.zeros(b, n), end_cls=torch.zeros(b, n))
    for i, gt in enumerate(gts):
        if gt.numel() == 0:
            continue
        p = proposals[i]
        best, arg = pairwise_tiou(p, gt).max(dim=1)
        g = gt[arg]
        ts, te = p[:, 0], p[:, 1]
        d = (te - ts).clamp(min=1e-3)
        out['iou'][i] = best
        out['offsets'][i] = torch.stack([(g[:, 0] - ts) / d, (g[:, 1] - te) / d,
                                         (g.sum(1) - ts - te) / 2 / d,
                                         torch.log((g[:, 1] - g[:, 0]).clamp(min=1e-3) / d)], 1)
        out['start_cls'][i] = ((ts[:, None] - gt[None, :, 0]).abs() <= radius).any(1).float()
        out['end_cls'][i] = ((te[:, None] - gt[None, :, 1]).abs() <= radius).any(1).float()
    return out


@pytest.mark.parametrize('seed', range(5))
def test_batched_targets_equal_per_video_targets(seed):
    """Padded, batched targets = the per-video definition, with 0 to 4 ground-truth
    segments per video (ties in IoU resolved to the first segment in both)."""
    g = torch.Generator().manual_seed(seed)
    t = 20
    gts = []
    for count in (0, 1, 4, 2, 3):
        s = torch.randint(0, t - 2, (count,), generator=g).float()
        gts.append(torch.stack([s, s + torch.randint(1, 6, (count,), generator=g)], 1))
    gts[3] = torch.cat([gts[3], gts[3][:1]])       # a duplicate segment: an exact IoU tie
    a = torch.randint(0, t - 1, (5, 60), generator=g).float()
    props = torch.stack([a, a + torch.randint(1, 8, (5, 60), generator=g)], -1)
    props[:, :3] += 0.25                           # off-grid proposals (refined stages)
    got = proposal_targets(props, gts)
    ref = _targets_per_video(props, gts)
    for key in ref:
        torch.testing.assert_close(got[key], ref[key], rtol=0, atol=0, msg=key)
    bd = snippet_boundary_targets(gts, t)
    for i, gt in enumerate(gts):
        torch.testing.assert_close(bd[i:i + 1], snippet_boundary_targets([gt], t), rtol=0, atol=0)
    assert bd[0].sum() == 0


def test_boundary_selection():
    p = torch.tensor([[0.1, 0.5, 0.2, 0.3, 0.9, 0.1]])
    mask = boundary_selection_mask(p, 0.5, keep_first=True)
    assert mask[0].tolist() == [True, True, False, False, True, False]
