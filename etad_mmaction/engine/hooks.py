"""Hooks of the ETAD runner: seeded sampling, a compiled training step, and a stop
at the first non-finite loss or diverging run."""
import collections
import math
import statistics
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
    * a checkpoint with NaN/Inf weights is never written (``before_save_checkpoint``);
    * divergence with finite values (a learning rate far too high gives losses of
      1e23 that never overflow): when the total loss or the gradient norm stays
      above ``spike_factor`` times its running median (over the last
      ``spike_window`` iterations that were not spikes) for ``spike_patience``
      iterations in a row, a ``FloatingPointError`` names the iterations, the
      values, the loss terms and the videos. One isolated spike is tolerated;
    * a training set that gives no iteration (empty, or smaller than one batch per
      process with ``drop_last``) stops the run before training
      (:func:`~etad_mmaction.engine.guards.check_train_iterations`).

    Costs one device-to-host read of the loss terms (``RuntimeInfoHook`` reads
    them for logging anyway) and, with ``check_grad``, one of the gradient norm
    per optimizer step.

    Args:
        check_grad (bool): check the gradients before each step. Default True.
        spike_factor (float, optional): a value above this multiple of its running
            median is a spike. ``None`` turns the divergence check off. Default 100.
        spike_patience (int): consecutive spikes that stop the run. Default 3.
        spike_window (int): iterations of the running median. Default 100.
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def __init__(self, check_grad: bool = True, spike_factor: Optional[float] = 100.0,
                 spike_patience: int = 3, spike_window: int = 100):
        if spike_factor is not None and not spike_factor > 1:
            raise ValueError(f'NonFiniteCheckHook: spike_factor must be > 1 or None, got '
                             f'{spike_factor}')
        if spike_patience < 1 or spike_window < 1:
            raise ValueError('NonFiniteCheckHook: spike_patience and spike_window must be '
                             f'>= 1, got {spike_patience} and {spike_window}')
        self.check_grad = check_grad
        self.spike_factor = spike_factor
        self.spike_patience = int(spike_patience)
        self.spike_window = int(spike_window)
        self._bad_grads: list = []
        self._handles: list = []
        self._grad_norm: Optional[float] = None
        self._history: dict = {}
        self._spikes: dict = {}

    def before_train(self, runner) -> None:
        # also for runs built without tools/train.py: no epoch of zero iterations
        from .guards import check_train_iterations
        check_train_iterations(runner)
        for h in self._handles:
            h.remove()
        self._handles = []
        self._history = {k: collections.deque(maxlen=self.spike_window)
                         for k in ('loss', 'gradient norm')}
        self._spikes = {k: [] for k in self._history}
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
        norm = float(total)
        self._grad_norm = norm if self._grad_norm is None else max(self._grad_norm, norm)
        if not math.isfinite(norm):
            # recorded, raised after the iteration together with the loss terms
            self._bad_grads = [names.get(id(p), '?') for p in params
                               if not torch.isfinite(p.grad).all()]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        bad_grads, self._bad_grads = self._bad_grads, []
        grad_norm, self._grad_norm = self._grad_norm, None
        terms = {k: v for k, v in (outputs or {}).items()
                 if (torch.is_tensor(v) and v.is_floating_point() and v.numel() == 1)
                 or isinstance(v, float)}
        tensors = [v.detach().float().reshape(()) for v in terms.values() if torch.is_tensor(v)]
        floats_ok = all(math.isfinite(v) for v in terms.values() if isinstance(v, float))
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch {batch_idx})'
        # one device-to-host read for all the terms
        if not bad_grads and floats_ok and (
                not tensors or bool(torch.isfinite(torch.stack(tensors)).all())):
            if self.spike_factor is not None and self._history:
                self._check_spikes(runner, terms, grad_norm, data_batch)
            return
        values = {k: float(v.detach()) if torch.is_tensor(v) else v for k, v in terms.items()}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        videos = _batch_videos(data_batch)
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

    def _check_spikes(self, runner, terms: dict, grad_norm, data_batch) -> None:
        """Divergence with finite values: ``spike_patience`` spikes in a row."""
        values = {k: float(v.detach()) if torch.is_tensor(v) else v for k, v in terms.items()}
        loss = values.get('loss', sum(v for k, v in values.items() if 'loss' in k))
        it = runner.iter + 1
        for name, value in (('loss', loss), ('gradient norm', grad_norm)):
            if value is None:
                continue
            history = self._history[name]
            median = statistics.median(history) if history else None
            if median is not None and median > 0 and value > self.spike_factor * median:
                self._spikes[name].append((it, value, median))   # not in the history
            else:
                self._spikes[name] = []
                history.append(value)
            spikes = self._spikes[name]
            if len(spikes) >= self.spike_patience:
                first, last = spikes[0][0], spikes[-1][0]
                seen = ', '.join(f'{v:.3g}' for _, v, _ in spikes)
                raise FloatingPointError(
                    f'the run diverged at iteration {first} (epoch {runner.epoch + 1}): the '
                    f'{name} stayed above {self.spike_factor:g} x its running median '
                    f'({spikes[0][2]:.3g}) for {len(spikes)} iterations ({first} to {last}: '
                    f'{seen}); loss terms at iteration {last}: {_rounded(values)}; videos of '
                    f'the batch: {_batch_videos(data_batch)[:16]}. Lower the learning rate '
                    '(optim_wrapper.optimizer.lr) or clip gradients (optim_wrapper.clip_grad);'
                    ' the check is NonFiniteCheckHook(spike_factor, spike_patience, '
                    'spike_window) in custom_hooks (spike_factor=None turns it off); no '
                    'checkpoint of this state is saved')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict') or {}
        bad = _non_finite(state.items())
        if bad:
            raise FloatingPointError(
                f'not saving a checkpoint at epoch {runner.epoch}, iteration {runner.iter}: '
                f'{len(bad)} weight tensors are NaN/Inf (e.g. {bad[:5]}); the run diverged '
                '(a non-finite gradient): lower the learning rate or clip gradients')


def _rounded(values: dict) -> dict:
    return {k: float(f'{v:.6g}') for k, v in values.items()}
