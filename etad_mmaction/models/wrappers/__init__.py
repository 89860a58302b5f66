from .distributed import ETADDistributedDataParallel

__all__ = ['ETADDistributedDataParallel']
