"""Data parallelism through ``ETADDistributedDataParallel`` is exact (float64, gloo):
2 processes with half the batch each end with the same parameters as 1 process
with the whole batch, for both EGS modes of ``ETADEndToEnd`` (whose own
``train_step`` runs under the wrapper) and for the feature-based ``ETAD`` (stock
DDP path). Same samples on both sides come from the per-(seed, epoch, video)
seeded samplers; the loss normalisers are global counts reduced across ranks."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

from etad_mmaction.testing import make_samples, small_model
from etad_mmaction.testing import tiny_e2e_batch as make_data
from etad_mmaction.testing import tiny_e2e_model as build_e2e

import etad_mmaction  # noqa: F401
from etad_mmaction.models.wrappers.distributed import ETADDistributedDataParallel

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it

B, STEPS = 4, 2


def _e2e(mode):
    torch.manual_seed(0)
    return build_e2e(ratio=0.5, mode=mode, chunk_size=3)


def _feature():
    torch.manual_seed(0)
    return small_model(sampler=dict(type='RandomSampler', ratio=0.4)).double()


def _data(kind):
    if kind == 'feature':
        g = torch.Generator().manual_seed(1)
        feats = list(torch.randn(B, 8, 16, generator=g, dtype=torch.float64))
        samples = make_samples(B, 16)
        gt = InstanceData()
        gt.segments = torch.tensor([[0.0, 3.0], [4.0, 6.0], [10.0, 12.0]])
        gt.labels = torch.zeros(3, dtype=torch.long)
        samples[2].gt_instances = gt                # counts differ between ranks
        return dict(inputs=feats, data_samples=samples)
    data = make_data(seed=3, b=B)
    gt = InstanceData()
    gt.segments = torch.tensor([[0.0, 7.0]])
    gt.labels = torch.zeros(1, dtype=torch.long)
    data['data_samples'][3].gt_instances = gt
    return data


def _model(kind):
    return _feature() if kind == 'feature' else _e2e(kind)


def _train(model, data, steps=STEPS):
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05, momentum=0.9))
    for _ in range(steps):
        model.train_step(data, wrapper)
    inner = model.module if hasattr(model, 'module') else model
    return {n: p.detach().clone() for n, p in inner.named_parameters()}


def _worker(rank, world, port, kind, out_path):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        data = _data(kind)
        per = B // world
        half = {k: v[rank * per:(rank + 1) * per] for k, v in data.items()}
        model = ETADDistributedDataParallel(_model(kind))
        _save_from_all_ranks(_train(model, half), out_path)
    finally:
        dist.destroy_process_group()


def _save_from_all_ranks(obj, out_path):
    """Rank 0 saves the list of every rank's ``obj``."""
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    if dist.get_rank() == 0:
        torch.save(gathered, out_path)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('kind', ['single_pass', 'injection', 'feature'])
def test_two_ranks_equal_one_process(kind, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = {n: p.detach().clone() for n, p in _model(kind).named_parameters()}
        ref = _train(_model(kind), _data(kind))
    finally:
        torch.set_num_threads(threads)
    moved = [n for n in ref if not torch.equal(ref[n], start[n])]
    assert moved, 'training changed no parameter'
    if kind != 'feature':
        assert any(n.startswith('encoder.') for n in moved), 'encoder did not train'
    out = str(tmp_path / 'params.pt')
    mp.spawn(_worker, args=(2, _free_port(), kind, out), nprocs=2, join=True)
    ranks = torch.load(out)
    for name, value in ref.items():
        for r, got in enumerate(ranks):
            assert torch.allclose(got[name], value, rtol=1e-7, atol=1e-9), (kind, r, name)



def _buffer_worker(rank, world, port, out_path):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        data = _data('single_pass')
        result = {}
        for broadcast in (False, True):
            model = ETADDistributedDataParallel(_e2e('single_pass'), broadcast_buffers=broadcast)
            bn = next(m for m in model.module.modules() if isinstance(m, torch.nn.BatchNorm2d))
            with torch.no_grad():                      # rank-dependent statistics
                bn.running_mean.fill_(float(rank + 1))
            _train(model, {k: v[rank:rank + 1] for k, v in data.items()}, steps=1)
            result[broadcast] = bn.running_mean.clone()
        _save_from_all_ranks(result, out_path)
    finally:
        dist.destroy_process_group()


def test_owned_train_step_honours_broadcast_buffers(tmp_path):
    """``broadcast_buffers=True``: rank 0's buffers reach every rank before the module's
    own step (BatchNorm is frozen here, so the step itself leaves them unchanged);
    False (MMEngine's default): each rank keeps its own."""
    out = str(tmp_path / 'buffers.pt')
    mp.spawn(_buffer_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    rank0, rank1 = torch.load(out)
    assert torch.all(rank0[True] == 1.0) and torch.all(rank0[False] == 1.0)
    assert torch.all(rank1[True] == 1.0)
    assert torch.all(rank1[False] == 2.0)
