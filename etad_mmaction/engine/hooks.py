"""Hooks of the ETAD runner: seeded sampling, a compiled training step, and a stop
at the first non-finite loss."""
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
    """Hands the run seed and the epoch to the model and to the training dataset
    before every training epoch.

    Every random draw of ETAD (DPS, the IoU negatives, EGS, the temporal jitter of
    ``SampleSnippets``) uses a generator seeded by ``(seed, epoch, video index)``;
    MMEngine re-seeds on resume instead of restoring RNG state, so this keeps
    resumed and distributed runs reproducible.
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        model = unwrap(runner.model)
        if hasattr(model, 'set_sampling_state'):
            model.set_sampling_state(seed=runner.seed, epoch=runner.epoch)
        for dataset in _datasets(getattr(runner.train_loop, 'dataloader', None)):
            dataset.set_sampling_state(seed=runner.seed, epoch=runner.epoch)


def _datasets(dataloader) -> list:
    """The datasets with ``set_sampling_state`` under a dataloader's dataset
    (through MMEngine's dataset wrappers: ``.dataset``, ``.datasets``)."""
    found, todo = [], [getattr(dataloader, 'dataset', None)]
    while todo:
        ds = todo.pop()
        if ds is None:
            continue
        if hasattr(ds, 'set_sampling_state'):
            found.append(ds)
        else:
            todo.extend([getattr(ds, 'dataset', None), *getattr(ds, 'datasets', ())])
    return found


@HOOKS.register_module()
class ETADCompileHook(Hook):
    """Compiles the detector's training program (``ETAD.loss_tensors``: forward,
    DPS, targets, losses) with ``torch.compile`` before training.

    ``tools/train.py --compile [MODE]`` adds it, and turns MMEngine's ``compile=``
    config key into it: MMEngine would compile the whole ``train_step`` (data
    samples, optimizer wrapper), which dynamo splits into many graphs, while the
    tensor program of ETAD traces as one (CUDA-graph ready with
    ``mode='reduce-overhead'``).

    Args:
        **compile_kwargs: ``torch.compile`` options (``mode``, ``backend``, ...).
    """

    priority = 'VERY_HIGH'

    def __init__(self, **compile_kwargs):
        self.compile_kwargs = compile_kwargs

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        detector = getattr(model, 'detector', model)     # ETADEndToEnd holds an ETAD
        if not hasattr(detector, 'compile_loss'):
            raise TypeError(f'ETADCompileHook: {type(detector).__name__} has no '
                            'compile_loss (an ETAD detector has)')
        detector.compile_loss(**self.compile_kwargs)


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


def _optimizers(optim_wrapper) -> list:
    """The torch optimizers of an ``OptimWrapper`` or ``OptimWrapperDict``."""
    if optim_wrapper is None:
        return []
    if hasattr(optim_wrapper, 'optim_wrappers'):
        return [w.optimizer for w in optim_wrapper.optim_wrappers.values()]
    return [optim_wrapper.optimizer]


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Stops a diverging run at once instead of training on and saving NaN weights.

    * before every optimizer step (``Optimizer.register_step_pre_hook``) the
      gradients are checked; after the iteration, a NaN/Inf gradient or loss
      term raises a ``FloatingPointError`` naming the iteration, the loss terms,
      the parameters with non-finite gradients and the videos of the batch.
      Under ``AmpOptimWrapper`` the loss scaler skips overflowing steps before
      this check, so only real divergence stops the run;
    * a checkpoint with NaN/Inf weights is never written (``before_save_checkpoint``).

    Costs one device-to-host read of the loss terms (``RuntimeInfoHook`` reads
    them for logging anyway) and, with ``check_grad``, one of the gradient norm
    per optimizer step.

    Args:
        check_grad (bool): check the gradients before each step. Default True.
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def __init__(self, check_grad: bool = True):
        self.check_grad = check_grad
        self._bad_grads: list = []
        self._handles: list = []

    def before_train(self, runner) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        if not self.check_grad:
            return
        names = {id(p): n for n, p in unwrap(runner.model).named_parameters()}
        for optimizer in _optimizers(getattr(runner, 'optim_wrapper', None)):
            if hasattr(optimizer, 'register_step_pre_hook'):
                self._handles.append(optimizer.register_step_pre_hook(
                    lambda opt, args, kwargs: self._check_grads(opt, names)))

    def after_train(self, runner) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _check_grads(self, optimizer, names: dict) -> None:
        params = [p for group in optimizer.param_groups for p in group['params']
                  if p.grad is not None]
        if not params:
            return
        total = torch.nn.utils.get_total_norm([p.grad for p in params]) \
            if hasattr(torch.nn.utils, 'get_total_norm') \
            else torch.stack([p.grad.detach().float().norm() for p in params]).norm()
        if not bool(torch.isfinite(total)):
            # recorded, raised after the iteration together with the loss terms
            self._bad_grads = [names.get(id(p), '?') for p in params
                               if not torch.isfinite(p.grad).all()]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        bad_grads, self._bad_grads = self._bad_grads, []
        terms = {k: v for k, v in (outputs or {}).items()
                 if (torch.is_tensor(v) and v.is_floating_point() and v.numel() == 1)
                 or isinstance(v, float)}
        tensors = [v.detach().float().reshape(()) for v in terms.values() if torch.is_tensor(v)]
        floats_ok = all(math.isfinite(v) for v in terms.values() if isinstance(v, float))
        # one device-to-host read for all the terms
        if not bad_grads and floats_ok and (
                not tensors or bool(torch.isfinite(torch.stack(tensors)).all())):
            return
        values = {k: float(v.detach()) if torch.is_tensor(v) else v for k, v in terms.items()}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        videos = _batch_videos(data_batch)
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch {batch_idx})'
        if bad:
            msg = f'non-finite loss at {where}: {bad}'
        else:
            msg = f'non-finite gradient at {where} with finite loss terms {_rounded(values)}'
        if bad_grads:
            msg += f'; NaN/Inf gradients of {len(bad_grads)} parameters, e.g. {bad_grads[:5]}'
        raise FloatingPointError(
            f'{msg}; videos of the batch: {videos[:16]}. The run diverged: lower the '
            'learning rate (optim_wrapper.optimizer.lr), clip gradients '
            '(optim_wrapper.clip_grad) or check the features (tools/data/check_features.py); '
            'no checkpoint of this state is saved')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict') or {}
        bad = _non_finite(state.items())
        if bad:
            raise FloatingPointError(
                f'not saving a checkpoint at epoch {runner.epoch}, iteration {runner.iter}: '
                f'{len(bad)} weight tensors are NaN/Inf (e.g. {bad[:5]}); the run diverged '
                '(a non-finite gradient): lower the learning rate or clip gradients')


def _rounded(values: dict) -> dict:
    return {k: round(v, 6) for k, v in values.items()}
