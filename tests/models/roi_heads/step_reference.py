"""The frozen reference of one detector training step (issue 25: speed-ups keep the
results): the losses and parameter gradients of a small float64 ETAD on a fixed
batch, as computed by the implementation of commit 05fac38 (before the tiled RoI
layer). ``python tests/models/roi_heads/step_reference.py`` printed
``step_reference.json``; only regenerate it from that commit.

Gradients are stored as their norm and four fixed random projections per parameter
(a change of any entry beyond rounding changes them), which keeps the file small."""
import json
import os.path as osp

import torch

HERE = osp.dirname(osp.abspath(__file__))
FIXTURE = osp.join(HERE, 'step_reference.json')
B, T, C = 3, 16, 8


def model_and_batch():
    """The detector (all proposals: no sampler code involved) and its batch."""
    import etad_mmaction  # noqa: F401
    from etad_mmaction.testing import make_samples
    from mmaction.registry import MODELS
    torch.manual_seed(0)
    cfg = dict(type='ETAD', num_snippets=T,
               neck=dict(type='LSTMFeatureEnhancement', in_channels=C, hidden_channels=32,
                         branch_channels=16, out_channels=32, num_groups=4),
               boundary_head=dict(type='BoundaryHead', in_channels=32, feat_channels=32,
                                  num_groups=4),
               roi_head=dict(type='ETADRoIHead', proposal_sampler=None,
                             stage_head=dict(in_channels=32, roi_channels=16,
                                             hidden_dims=(32, 16, 16, 16), num_groups=4)))
    model = MODELS.build(cfg).double()
    feats = torch.randn(B, C, T, generator=torch.Generator().manual_seed(1),
                        dtype=torch.float64)
    samples = make_samples(B, T, segments=((1.5, 5.), (7., 13.5)))
    samples[1:2] = make_samples(1, T, segments=((3., 11.), ), first_index=1)
    return model, list(feats), samples


def step_summary(model, feats, samples) -> dict:
    """Losses and gradient summaries of ``model`` on the batch."""
    losses = model(feats, samples, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    model.zero_grad(set_to_none=True)
    total.backward()
    g = torch.Generator().manual_seed(2)
    grads = {}
    for name, p in model.named_parameters():
        proj = torch.randn(4, p.numel(), generator=g, dtype=torch.float64)
        grad = torch.zeros(p.numel(), dtype=torch.float64) if p.grad is None \
            else p.grad.reshape(-1)
        grads[name] = [grad.norm().item(), *(proj @ grad).tolist()]
    return dict(losses={k: float(v.detach()) for k, v in losses.items() if 'loss' in k},
                grads=grads)


if __name__ == '__main__':
    print(json.dumps(step_summary(*model_and_batch()), indent=1, sort_keys=True))
