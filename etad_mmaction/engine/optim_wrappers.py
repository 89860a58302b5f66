"""Mixed precision on CPU: MMEngine's ``AmpOptimWrapper`` refuses devices without CUDA/NPU/MLU."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmaction.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUBf16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose ``optim_context`` runs the forward pass under
    ``torch.autocast('cpu', dtype=torch.bfloat16)``. bf16 keeps fp32's exponent
    range, so no loss scaling is needed; parameters and gradients stay fp32."""

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        if dtype not in ('bfloat16', 'bf16'):
            raise ValueError('optim_wrapper.dtype: CPU autocast supports bfloat16 only, '
                             f'got {dtype!r}')
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model):
            with torch.autocast(device_type='cpu', dtype=self.cast_dtype):
                yield
