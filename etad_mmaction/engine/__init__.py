from . import checkpoint_io
from .hooks import ETADSamplingHook
from .launcher import apply_amp, default_work_dir, setup_cpu_distributed
from .optim_wrappers import CPUBf16OptimWrapper

__all__ = ['ETADSamplingHook', 'CPUBf16OptimWrapper', 'apply_amp', 'default_work_dir',
           'setup_cpu_distributed']

checkpoint_io.apply()
