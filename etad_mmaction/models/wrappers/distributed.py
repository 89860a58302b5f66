"""A DDP wrapper usable on CPU (gloo) as well as CUDA (nccl), which also runs the
end-to-end model's own training step (EGS gradient injection)."""
from typing import Dict, Union

import torch
from mmengine.dist import broadcast
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from mmaction.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class ETADDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for ETAD models.

    * CPU modules: MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``,
      which DDP rejects for CPU modules; they are dropped (gloo backend).
    * Modules that own their training step (``owns_distributed_train_step``:
      ``ETADEndToEnd`` in injection mode, which runs the encoder twice and
      back-propagates injected feature gradients outside any DDP forward): the
      stock wrapper's ``train_step`` would run a plain loss forward and bypass
      it. Here the module's ``train_step`` runs under ``no_sync`` and the module
      averages the gradients across ranks itself, once per optimiser update.
      Every other model (and ``single_pass``) takes the stock DDP path.
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
        """Rank 0's buffers to every rank (what DDP's forward does)."""
        for buf in self.module.buffers():
            broadcast(buf, src=0)
