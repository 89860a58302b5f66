"""Data parallelism is exact for ETAD: 2 gloo processes with half the batch each,
gradients averaged as DDP does, equal 1 process with the whole batch (float64).

This rests on the loss normalisers (Eq. 2's N+ / N-, the IoU bins, the positives)
being global counts reduced across ranks, and on per-video seeded sampling."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.structures import InstanceData

from etad_mmaction.testing import free_port, make_samples, small_model

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it

T, C, B = 16, 8, 4


def batch():
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(B, C, T, generator=g, dtype=torch.float64)
    samples = make_samples(B)
    # different ground truth per video so that counts differ between ranks
    for i, segs in ((1, [[1.0, 15.0]]), (2, [[0.0, 3.0], [4.0, 6.0], [10.0, 12.0]])):
        gt = InstanceData()
        gt.segments = torch.tensor(segs)
        gt.labels = torch.zeros(len(segs), dtype=torch.long)
        samples[i].gt_instances = gt
    return feats, samples


def grads(model, feats, samples):
    model.zero_grad()
    losses = model(feats, samples, mode='loss')
    sum(losses.values()).backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}, \
        {k: float(v) for k, v in losses.items()}


def build():
    torch.manual_seed(0)
    return small_model(sampler=dict(type='RandomSampler', ratio=0.4)).double()


def worker(rank, world, port, out_path):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        model = build()
        feats, samples = batch()
        per = B // world
        sl = slice(rank * per, (rank + 1) * per)
        g, _ = grads(model, feats[sl], samples[sl])
        for v in g.values():
            dist.all_reduce(v)
            v /= world
        if rank == 0:
            torch.save(g, out_path)
    finally:
        dist.destroy_process_group()


def test_two_ranks_equal_one_process(tmp_path):
    model = build()
    feats, samples = batch()
    ref, losses = grads(model, feats, samples)
    assert losses['s0.loss_regression'] > 0
    out = str(tmp_path / 'grads.pt')
    mp.spawn(worker, args=(2, free_port(), out), nprocs=2, join=True)
    got = torch.load(out)
    for name, g in ref.items():
        assert torch.allclose(got[name], g, rtol=1e-7, atol=1e-10), name
