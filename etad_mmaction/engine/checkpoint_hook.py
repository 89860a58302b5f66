"""``ETADCheckpointHook``: MMEngine's ``CheckpointHook`` made crash-consistent and strict.

Differences from the stock hook (same arguments, plus ``strict_load``):

* **strict loading.** A checkpoint loaded with ``load_from`` (training or
  ``tools/test.py``) or ``resume`` must match the model: missing or unexpected
  keys and other shapes raise a :class:`CheckpointMismatchError` that names the
  checkpoint and the first mismatching keys (MMEngine only warns and runs on
  with partly random weights; ``--resume`` failed later inside the optimizer).
  ``strict_load=False`` relaxes ``load_from`` for fine-tuning and logs every
  skipped key; resuming is always strict.
* **validation on resume.** ``epoch_N.pth`` is written before the validation
  of epoch N (as MMEngine does) but records that this validation is pending;
  once it has ended, the checkpoint is written again (atomically) with the best
  score of epoch N. A run resumed from a checkpoint whose validation did not
  end (killed during validation, or before the best checkpoint was written)
  validates epoch N first; the stock hook never validated it, and the run
  ended with another "best" checkpoint.
* **new before old.** The new best checkpoint is written (atomically) before
  the previous one is removed, and so is a new epoch checkpoint before the one
  that ``max_keep_ckpts`` drops: a kill or a full disk leaves the old file or
  the new one, never none. ``last_checkpoint`` is replaced atomically.
* **atomic writes.** Every checkpoint is written to ``.<name>.<pid>.tmp`` and
  renamed into place (``os.replace``), so ``epoch_N.pth`` is complete or absent
  after a kill; ``--resume auto`` never picks a truncated file.
* **leftovers.** Before training, temporary files of dead runs
  (``.epoch_2.pth.<pid>.tmp``, ``.best_....pth.<pid>.tmp``) are removed from the
  checkpoint folder.
"""
import os
import os.path as osp
import re
from bisect import bisect
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import EpochBasedTrainLoop, find_latest_checkpoint

from mmaction.registry import HOOKS

from ..fileio import remove_dead_temporaries, temporary_name, write_text
from . import checkpoint_io
from .hooks import unwrap

#: runtime info: the epoch whose checkpoint was written before its validation ended
PENDING_KEY = 'etad_validation_pending'


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose keys or shapes differ from the model of the config."""


class ResumeStateError(RuntimeError):
    """``--resume`` from a checkpoint without the optimizer or scheduler state
    (a ``best_*.pth``, or a run saved with ``save_optimizer=False``)."""


def _resume_candidates(filename: Optional[str], work_dir: str) -> list:
    """Epoch / iteration checkpoints (with optimizer state) beside ``filename``
    and in ``work_dir``, newest first."""
    found = []
    for folder in {osp.dirname(osp.abspath(filename)) if filename else None, work_dir}:
        if folder and osp.isdir(folder):
            for name in os.listdir(folder):
                m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', name)
                if m:
                    found.append((int(m.group(2)), osp.join(folder, name)))
    return [p for _, p in sorted(set(found), reverse=True)]


def check_resume_state(checkpoint: dict, filename: Optional[str], work_dir: str,
                       needs_scheduler: bool) -> None:
    """Refuse to resume from a checkpoint that lacks the optimizer state (or the
    scheduler state while the config has schedulers): MMEngine would resume the
    epoch counter with a fresh optimizer and the undecayed learning rate, and end
    with other parameters without a word."""
    missing = []
    if 'optimizer' not in checkpoint:
        missing.append('the optimizer state')
    if needs_scheduler and 'param_schedulers' not in checkpoint:
        missing.append('the learning-rate scheduler state')
    if not missing:
        return
    others = [p for p in _resume_candidates(filename, work_dir)
              if osp.abspath(p) != osp.abspath(filename or '')]
    hint = (f'resume from {others[0]} (it has them)' if others else
            'resume from an epoch_N.pth / iter_N.pth written with the optimizer state '
            '(default_hooks.checkpoint.save_optimizer=True)')
    raise ResumeStateError(
        f'cannot resume from {filename}: it holds the weights but not '
        f'{" nor ".join(missing)} (best_*.pth checkpoints hold weights only); resuming '
        'would restart the optimizer and the learning-rate schedule and give other '
        f'results. Instead, {hint}; or, to start a new run from these weights, use '
        f'--cfg-options load_from={filename} without --resume')


def compare_state_dicts(ckpt_state: dict, model_state: dict):
    """``(missing, unexpected, shape mismatches)`` of a checkpoint for a model."""
    state = {re.sub(r'^module\.', '', k): v for k, v in ckpt_state.items()}
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    shapes = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in model_state.items()
              if k in state and hasattr(state[k], 'shape')
              and tuple(state[k].shape) != tuple(v.shape)]
    return missing, unexpected, shapes


def _describe(missing, unexpected, shapes, limit: int = 5) -> str:
    parts = []
    if shapes:
        eg = ', '.join(f'{k}: checkpoint {a} vs model {b}' for k, a, b in shapes[:limit])
        parts.append(f'{len(shapes)} with other shapes ({eg})')
    if missing:
        parts.append(f'{len(missing)} missing from the checkpoint ({missing[:limit]})')
    if unexpected:
        parts.append(f'{len(unexpected)} not in the model ({unexpected[:limit]})')
    return '; '.join(parts)


def find_resume_checkpoint(work_dir: str, logger=None) -> Optional[str]:
    """The checkpoint ``--resume`` (auto) continues from: ``last_checkpoint``'s
    file, read like MMEngine's ``find_latest_checkpoint`` but, when it names a
    file of another folder (the work dir was copied or moved: MMEngine records
    absolute paths) and the work dir holds a file of that name, that file, with
    a warning. None when the work dir has no ``last_checkpoint``."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        path = f.read().strip()
    if not path or '://' in path:
        return path or None
    local = osp.join(work_dir, osp.basename(path))
    if osp.realpath(osp.dirname(osp.abspath(path))) != osp.realpath(work_dir) \
            and osp.isfile(local):
        if logger is not None:
            logger.warning(f'{record} names {path}, outside this work dir (a copied or moved '
                           f'work dir): resuming from {local}')
        return local
    return path


class _PortableHistoryBuffer(HistoryBuffer):
    """Pickles as a plain ``HistoryBuffer`` without its table of statistics
    functions: MMEngine 0.10.7 pickles ``HistoryBuffer.min`` ... as
    ``getattr(HistoryBuffer, 'min')``, which weights-only loading (torch >= 2.6)
    refuses, so ``--resume`` would fail. ``HistoryBuffer.__setstate__`` rebuilds
    the table. Remove when MMEngine stops pickling the functions."""

    def __reduce_ex__(self, protocol):
        state = {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}
        return HistoryBuffer, (), state         # HistoryBuffer(), then __setstate__


def portable_message_hub(state: dict) -> dict:
    """The message hub's state with its scalar buffers pickling weights-only."""
    scalars = dict(state.get('log_scalars') or {})
    for key, buf in scalars.items():
        if type(buf) is HistoryBuffer:
            clean = _PortableHistoryBuffer.__new__(_PortableHistoryBuffer)
            clean.__dict__.update(buf.__dict__)
            scalars[key] = clean
    return dict(state, log_scalars=scalars)


@HOOKS.register_module()
class ETADCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with strict loading and crash-consistent best checkpoints.

    Args:
        strict_load (bool): refuse a ``load_from`` checkpoint whose keys or
            shapes differ from the model (default). ``False``: load what
            matches and log what was skipped (fine-tuning). ``resume`` is
            always strict.
        **kwargs: the arguments of MMEngine's ``CheckpointHook``.
    """

    def __init__(self, *args, strict_load: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.strict_load = bool(strict_load)
        self._pending: Optional[int] = None

    # ----------------------------------------------------------- loading
    def before_run(self, runner) -> None:
        super().before_run(runner)
        checkpoint_io.apply()       # unreadable checkpoints fail naming the file

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if isinstance(checkpoint.get('message_hub'), dict):
            checkpoint['message_hub'] = portable_message_hub(checkpoint['message_hub'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
            else None
        if not isinstance(state, dict):
            return
        if getattr(runner, '_resume', False) and runner.train_loop is not None:
            filename = getattr(runner, '_load_from', None) or \
                find_latest_checkpoint(runner.work_dir)
            check_resume_state(checkpoint, filename, runner.work_dir,
                               bool(getattr(runner, 'param_schedulers', None)))
        missing, unexpected, shapes = compare_state_dicts(state, unwrap(runner.model)
                                                          .state_dict())
        if not (missing or unexpected or shapes):
            return
        resuming = bool(getattr(runner, '_resume', False))
        filename = getattr(runner, '_load_from', None)
        if filename is None and resuming:
            filename = find_latest_checkpoint(runner.work_dir)
        what = _describe(missing, unexpected, shapes)
        bad = set(missing) | {k for k, _, _ in shapes}
        if not resuming and not self.strict_load and not [
                k for k in unwrap(runner.model).state_dict() if k not in bad]:
            raise CheckpointMismatchError(
                f'strict_load=False, but no weight of checkpoint {filename} matches the model '
                f'of this config ({what}): nothing would be loaded. Is it the checkpoint of '
                'another model, or are its keys prefixed differently?')
        if resuming:
            raise CheckpointMismatchError(
                f'cannot resume from checkpoint {filename}: it does not match the model '
                f'of this config ({what}); resume with the config it was trained with')
        if self.strict_load:
            raise CheckpointMismatchError(
                f'checkpoint {filename} does not match the model of this config ({what}); '
                'is it the checkpoint of another config? To fine-tune from a partly '
                'matching checkpoint, set default_hooks.checkpoint.strict_load=False '
                '(the mismatching weights then keep their initial values)')
        runner.logger.warning(
            f'strict_load=False: loading {filename} partly; these weights keep their '
            f'initial values: {_describe(missing, unexpected, shapes, limit=10**9)}')

    # ----------------------------------------------------------- training
    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._pending = None
        if is_main_process() and '://' not in str(self.out_dir):
            for path in remove_dead_temporaries(self.out_dir):
                runner.logger.info(f'removed {path}, left by an interrupted run')
        # last of the before_train hooks (priority VERY_LOW): the others are ready
        self._validate_pending(runner)

    def _validates_after(self, runner, epoch: int) -> bool:
        """Whether the train loop validates after (1-based) ``epoch``."""
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop) or runner.val_loop is None:
            return False
        interval = loop.val_interval
        milestones = getattr(loop, 'dynamic_milestones', None)
        if milestones:
            interval = loop.dynamic_intervals[bisect(milestones, epoch + 1) - 1]
        return epoch >= loop.val_begin and (epoch % interval == 0 or epoch == loop.max_epochs)

    def after_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        due = self.every_n_epochs(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_epoch(runner))
        if due and self._validates_after(runner, runner.epoch + 1):
            # the checkpoint records that its validation is still to come
            self._pending = runner.epoch + 1
            runner.message_hub.update_info(PENDING_KEY, self._pending)
        super().after_train_epoch(runner)

    def after_val_epoch(self, runner, metrics) -> None:
        super().after_val_epoch(runner, metrics)
        if self._pending is not None and self._pending == runner.epoch:
            # validation done: write the epoch checkpoint again, with the best score
            # of this epoch and nothing pending (atomic: a kill keeps the pending one)
            step, self._pending = self._pending, None
            runner.message_hub.update_info(PENDING_KEY, None)
            self._save_checkpoint_with_step(runner, step, meta=dict(epoch=step,
                                                                    iter=runner.iter))

    def _validate_pending(self, runner) -> None:
        """On resume: validate the resumed epoch when the run that wrote its
        checkpoint stopped before that validation ended."""
        pending = runner.message_hub.runtime_info.get(PENDING_KEY)
        if pending is None or pending != runner.epoch or runner.epoch == 0:
            return
        if runner.val_loop is None:
            runner.logger.warning(f'the validation of epoch {pending} did not complete '
                                  'before the run stopped, and this run does not validate')
            return
        runner.logger.info(f'the validation of epoch {pending} did not complete before the '
                           'run stopped: validating it now')
        self._pending = pending
        runner.val_loop.run()

    def _save_atomic(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` into ``.<filename>.<pid>.tmp``, renamed into
        place: a reader sees the old file or the new one, never half of one.
        Remote ``out_dir`` (``s3://`` ...) is written directly."""
        if '://' in str(self.out_dir):
            runner.save_checkpoint(self.out_dir, filename, self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            return
        tmp = temporary_name(osp.join(self.out_dir, filename))
        tmp_name = osp.basename(tmp)
        try:
            runner.save_checkpoint(self.out_dir, tmp_name, self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            if is_main_process():  # save_checkpoint writes on the main process only
                os.replace(tmp, osp.join(self.out_dir, filename))
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """MMEngine's logic, but an outdated checkpoint (``max_keep_ckpts``) is
        removed after the new one is written, and ``last_checkpoint`` is
        replaced atomically: a kill in between leaves a checkpoint to resume from."""
        drop = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                drop = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomic(runner, ckpt_filename, save_optimizer=self.save_optimizer,
                          save_param_scheduler=self.save_param_scheduler, meta=meta,
                          by_epoch=self.by_epoch, **self.args)
        if not is_main_process():
            return
        write_text(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        if drop is not None:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(drop))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's logic, but the new best is saved before the old is removed."""
        if not self.save_best:
            return
        if self.by_epoch:
            ckpt_filename = self.filename_tmpl.format(runner.epoch)
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            ckpt_filename = self.filename_tmpl.format(runner.iter)
            cur_type, cur_time = 'iter', runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        best_ckpt_updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            key_score = metrics[key_indicator]
            score_key = 'best_score' if single else f'best_score_{key_indicator}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            old_path = self.best_ckpt_path if single else self.best_ckpt_path_dict[key_indicator]
            best_score = runner.message_hub.runtime_info.get(score_key,
                                                             self.init_value_map[rule])
            if key_score is None or not self.is_better_than[key_indicator](key_score,
                                                                           best_score):
                continue
            best_ckpt_updated = True
            name = f'best_{key_indicator}_{ckpt_filename}'.replace('/', '_')
            new_path = self.file_backend.join_path(self.out_dir, name)
            runner.message_hub.update_info(score_key, key_score)
            runner.message_hub.update_info(path_key, new_path)
            if single:
                self.best_ckpt_path = new_path
            else:
                self.best_ckpt_path_dict[key_indicator] = new_path
            self._save_atomic(runner, name, save_optimizer=False, save_param_scheduler=False,
                              meta=meta, by_epoch=False)
            runner.logger.info(f'The best checkpoint with {key_score:0.4f} {key_indicator} '
                               f'at {cur_time} {cur_type} is saved to {name}.')
            if old_path and old_path != new_path and is_main_process():
                if self.file_backend.isfile(old_path):
                    self.file_backend.remove(old_path)
                elif self.file_backend.isdir(old_path):
                    self.file_backend.rmtree(old_path)
                else:
                    continue
                runner.logger.info(f'The previous best checkpoint {old_path} is removed')
        # the stock hook then re-saves the last checkpoint so that it records the new
        # best; a pending epoch checkpoint is written again after this anyway
        if best_ckpt_updated and self.last_ckpt is not None and self._pending is None:
            self._save_checkpoint_with_step(runner, cur_time, meta)
