"""A DDP wrapper usable on CPU (gloo) as well as CUDA (nccl), which also runs the
end-to-end model's own training step (EGS gradient injection)."""
from typing import Dict, Union

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors
from mmengine.optim import OptimWrapper

from mmaction.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class ETADDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for ETAD models.

    * CPU modules: MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``,
      which DDP rejects for CPU modules; they are dropped (gloo backend).
    * Modules that own their training step (``ETADEndToEnd``, whose injection
      mode runs the encoder twice and back-propagates injected feature
      gradients outside any DDP forward): the stock wrapper's ``train_step``
      would run a plain loss forward and bypass it. Here the module's
      ``train_step`` runs under ``no_sync`` and the module averages all
      gradients across ranks itself, once per optimiser update
      (``ETADEndToEnd._all_reduce_grads``), so no rank ever steps on local
      gradients. Every other model takes the stock DDP path.
    * With ``broadcast_buffers=True`` (MMEngine's runner default is False) such
      modules get what DDP's forward would do: every buffer (e.g. BatchNorm
      running statistics) is broadcast from rank 0 before each step.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu:
            device_ids = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=device_ids, **kwargs)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        if getattr(self.module, 'owns_distributed_train_step', False):
            if self.broadcast_buffers:
                self._broadcast_buffers_from_rank0()
            with self.no_sync():
                return self.module.train_step(data, optim_wrapper)
        return super().train_step(data, optim_wrapper)

    def _broadcast_buffers_from_rank0(self) -> None:
        """Rank 0's buffers to every rank, one flattened broadcast per dtype and device."""
        if not dist.is_initialized() or dist.get_world_size() == 1:
            return
        groups = {}
        for buf in self.module.buffers():
            groups.setdefault((buf.dtype, buf.device), []).append(buf)
        for bufs in groups.values():
            flat = _flatten_dense_tensors(bufs)
            dist.broadcast(flat, src=0)
            for buf, value in zip(bufs, _unflatten_dense_tensors(flat, bufs)):
                buf.copy_(value)
