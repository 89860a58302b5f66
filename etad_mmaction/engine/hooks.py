"""Hooks of the ETAD runner: seeded sampling, and a stop at the first non-finite loss."""
import math
from typing import Optional

import torch
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


def _batch_videos(data_batch) -> list:
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    if isinstance(samples, dict):  # collated metainfo: {key: [value per sample]}
        return list(samples.get('video_name', samples.get('raw_video_id', [])))
    names = []
    for ds in samples or []:
        meta = getattr(ds, 'metainfo', ds if isinstance(ds, dict) else {})
        names.append(meta.get('video_name', meta.get('raw_video_id', '?')))
    return names


def _non_finite(named_tensors) -> list:
    return [name for name, t in named_tensors
            if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all()]


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Stops a diverging run at once instead of training on and saving NaN weights.

    * after every training iteration, a NaN/Inf loss term raises a
      ``FloatingPointError`` naming the iteration, the terms and the videos of
      the batch (and the parameters, when the previous update already made
      them non-finite: a non-finite gradient);
    * a checkpoint with NaN/Inf weights is never written (``before_save_checkpoint``),
      which also catches a non-finite gradient of the last iteration of an epoch.

    The loss values are read once per iteration, as ``RuntimeInfoHook`` does
    for logging; the weights only when a checkpoint is saved or a loss is bad.
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        terms = {k: v for k, v in outputs.items()
                 if (torch.is_tensor(v) and v.is_floating_point() and v.numel() == 1)
                 or isinstance(v, float)}
        tensors = [v.detach().float().reshape(()) for v in terms.values() if torch.is_tensor(v)]
        floats_ok = all(math.isfinite(v) for v in terms.values() if isinstance(v, float))
        # one device-to-host read for all the terms
        if floats_ok and (not tensors or bool(torch.isfinite(torch.stack(tensors)).all())):
            return
        bad = {k: float(v) for k, v in terms.items() if not math.isfinite(float(v))}
        params = _non_finite(unwrap(runner.model).named_parameters())
        videos = _batch_videos(data_batch)
        msg = (f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
               f'batch {batch_idx}): {bad}; videos of the batch: {videos[:16]}')
        if params:
            msg += (f'. The weights were already NaN/Inf before this iteration '
                    f'({len(params)} tensors, e.g. {params[:3]}): the previous update had '
                    'a non-finite gradient')
        raise FloatingPointError(
            msg + '. The run diverged: lower the learning rate (optim_wrapper.optimizer.lr), '
            'clip gradients (optim_wrapper.clip_grad) or check the features '
            '(tools/data/check_features.py); no checkpoint of this state is saved')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict') or {}
        bad = _non_finite(state.items())
        if bad:
            raise FloatingPointError(
                f'not saving a checkpoint at epoch {runner.epoch}, iteration {runner.iter}: '
                f'{len(bad)} weight tensors are NaN/Inf (e.g. {bad[:5]}); the run diverged '
                '(a non-finite gradient): lower the learning rate or clip gradients')
