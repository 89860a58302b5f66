"""tools/analysis/step_profile.py: the counter sees host synchronisations and
operations, and the ETAD training step (DPS, IoU negatives, targets, loss) has none
of the former: on CUDA it never waits for the device before the optimizer step."""
import torch
from torch import nn

from etad_mmaction.testing import load_tool, make_samples, small_model

profile_step = load_tool('analysis/step_profile.py').profile_step


class Syncing(nn.Module):
    """A toy model whose loss reads values back on the host three ways."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(4))

    def forward(self, inputs, data_samples, mode='loss'):
        x = inputs[0] * self.w
        k = int((x > 0).sum())                       # .item()
        idx = torch.nonzero(x > 0).flatten()         # data-dependent shape
        sel = x[x > 0]                               # boolean-mask indexing
        return dict(loss=x[idx[:k]].sum() + sel.sum())


def test_counter_sees_syncs_ops_and_memory():
    res = profile_step(Syncing(), [torch.randn(4)], None)
    assert res['host_syncs'] >= 3
    assert res['ops'] > 5 and res['peak_tensor_mb'] > 0


def test_etad_training_step_has_no_host_synchronisation():
    torch.manual_seed(0)
    for sampler in (dict(type='RandomSampler', ratio=0.5), None):
        model = small_model(sampler=sampler)
        res = profile_step(model, torch.randn(3, 8, 16), make_samples(3))
        assert res['host_syncs'] == 0, (sampler, res)
        assert res['ops'] > 100
