"""Hooks that connect ETAD's seeded samplers to the MMEngine runner."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


def unwrap(model):
    """The model inside DDP / MMEngine wrappers."""
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class ETADSamplingHook(Hook):
    """Hands the run seed and the epoch to the model before every training epoch.

    Every random draw of ETAD (DPS, the IoU negatives, EGS) uses a generator seeded
    by ``(seed, epoch, video index)``; MMEngine re-seeds on resume instead of
    restoring RNG state, so this keeps resumed and distributed runs reproducible.
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        model = unwrap(runner.model)
        if hasattr(model, 'set_sampling_state'):
            model.set_sampling_state(seed=runner.seed, epoch=runner.epoch)
