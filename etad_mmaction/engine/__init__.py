from .checkpoint_hook import CheckpointMismatchError, ETADCheckpointHook, ResumeStateError
from .hooks import ETADCompileHook, ETADSamplingHook, NonFiniteCheckHook
from .launcher import apply_amp, apply_compile, default_work_dir, setup_cpu_distributed
from .optim_wrappers import CPUBf16OptimWrapper
from .raw_outputs import ETADRawDumpHook

__all__ = ['ETADSamplingHook', 'ETADCompileHook', 'apply_compile', 'ETADCheckpointHook',
           'NonFiniteCheckHook', 'ETADRawDumpHook',
           'CheckpointMismatchError', 'ResumeStateError', 'CPUBf16OptimWrapper', 'apply_amp',
           'default_work_dir',
           'setup_cpu_distributed']
