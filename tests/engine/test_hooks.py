"""Runner hooks that fail loudly and lose nothing, on a toy model (seconds, no data):
strict checkpoint loading, a stop at the first non-finite loss, crash-consistent
best checkpoints, removal of temporaries left by dead runs."""
import glob
import logging
import os
import os.path as osp
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch import nn

import etad_mmaction  # noqa: F401  (registers the hooks)
from etad_mmaction.engine import CheckpointMismatchError, ResumeStateError

SCORES = {1: 0.5, 2: 0.9, 3: 0.7}   # validation score after each epoch (1-based)


class ToyModel(BaseModel):
    def __init__(self, width=3):
        super().__init__()
        self.linear = nn.Linear(2, width)
        self.out = nn.Linear(width, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.out(self.linear(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss_fit=(y ** 2).mean())
        return [dict(y=float(v)) for v in y]


class ToyDataset(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([1.0, float(i)]), data_samples=dict(video_name=f'v{i}'))


class ScriptedMetric(BaseMetric):
    """Score of the validated epoch from ``SCORES``; ``crash_at`` simulates a kill."""

    def __init__(self, crash_at=None):
        super().__init__()
        self.crash_at = crash_at

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    validated = []   # epochs whose validation completed, in order

    def compute_metrics(self, results):
        epoch = VALIDATED_EPOCH['epoch']
        if epoch == self.crash_at:
            raise KeyboardInterrupt('killed during validation (simulated)')
        ScriptedMetric.validated.append(epoch)
        return dict(score=SCORES[epoch])


VALIDATED_EPOCH = {}


class EpochOfValidationHook(Hook):
    """Tells ``ScriptedMetric`` which (1-based) training epoch is validated."""

    def before_val_epoch(self, runner):
        VALIDATED_EPOCH['epoch'] = runner.epoch


class DiskFullHook(Hook):
    """Fails the save of a best checkpoint (no optimizer state) at ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def before_save_checkpoint(self, runner, checkpoint):
        if 'optimizer' not in checkpoint and runner.epoch == self.epoch:
            raise OSError(28, 'No space left on device (simulated)')


def make_runner(work, epochs=3, val=True, width=3, crash_at=None, lr=0.01, hooks=(),
                ckpt=None, **kwargs):
    loader = dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=2, num_workers=0)
    checkpoint = dict(type='ETADCheckpointHook', interval=1, save_best='score',
                      rule='greater', max_keep_ckpts=3)
    checkpoint.update(ckpt or {})
    cfg = dict(
        model=ToyModel(width), work_dir=str(work), experiment_name=uuid.uuid4().hex,
        train_dataloader=loader, optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=1),
        default_hooks=dict(checkpoint=checkpoint, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='NonFiniteCheckHook'), EpochOfValidationHook(), *hooks],
        default_scope='mmaction',
        randomness=dict(seed=0), log_level='WARNING')
    if val:
        cfg.update(val_dataloader=loader, val_cfg=dict(),
                   val_evaluator=[ScriptedMetric(crash_at)])
    cfg.update(kwargs)
    return Runner(**cfg)


def best_files(work):
    return sorted(osp.basename(p) for p in glob.glob(osp.join(str(work), 'best_*.pth')))


def _runtime_info(path):
    return torch.load(path, weights_only=False)['message_hub']['runtime_info']


def test_killed_during_validation_resumes_and_validates_that_epoch(tmp_path):
    ScriptedMetric.validated.clear()
    with pytest.raises(KeyboardInterrupt):
        make_runner(tmp_path, crash_at=2).train()
    assert ScriptedMetric.validated == [1]
    pending = _runtime_info(tmp_path / 'epoch_2.pth').get('etad_validation_pending')
    runner = make_runner(tmp_path, resume=True)
    runner.train()
    # the resumed run validates epoch 2 first (the stock hook never did), not training it
    assert ScriptedMetric.validated == [1, 2, 3]
    assert best_files(tmp_path) == ['best_score_epoch_2.pth']   # stock: _epoch_3
    assert runner.message_hub.get_info('best_score') == 0.9
    # every epoch checkpoint records the best score of its epoch, nothing pending
    info = _runtime_info(tmp_path / 'epoch_2.pth')
    assert info['best_score'] == 0.9 and info['etad_validation_pending'] is None
    assert pending == 2   # what the killed run's checkpoint said


def test_uninterrupted_run_checkpoints_record_their_validation(tmp_path):
    ScriptedMetric.validated.clear()
    make_runner(tmp_path).train()
    assert ScriptedMetric.validated == [1, 2, 3]
    assert best_files(tmp_path) == ['best_score_epoch_2.pth']
    info = _runtime_info(tmp_path / 'epoch_3.pth')
    assert info['best_score'] == 0.9 and info['etad_validation_pending'] is None
    runner = make_runner(tmp_path, resume=True)   # a finished run: nothing to validate
    runner.train()
    assert ScriptedMetric.validated == [1, 2, 3]


def test_new_best_is_saved_before_the_old_one_is_removed(tmp_path):
    with pytest.raises(OSError, match='No space left'):
        make_runner(tmp_path, epochs=2, hooks=[DiskFullHook(2)]).train()
    assert best_files(tmp_path) == ['best_score_epoch_1.pth']   # stock: none left
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
    runner = make_runner(tmp_path, epochs=2, resume=True)
    runner.train()                                   # validates epoch 2 again
    assert best_files(tmp_path) == ['best_score_epoch_2.pth']


FAIL_NEXT_WRITE = {}


class FailingResaveHook(Hook):
    """The write of a checkpoint stops halfway (disk full, kill): here the
    re-save of the epoch checkpoint once its validation has ended, which
    overwrites an existing file."""

    def before_save_checkpoint(self, runner, checkpoint):
        info = checkpoint['message_hub']['runtime_info']
        if 'optimizer' in checkpoint and info.get('etad_validation_pending', 0) is None:
            FAIL_NEXT_WRITE['on'] = True


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    from mmengine.fileio.backends.local_backend import LocalBackend
    put = LocalBackend.put

    def half_put(self, obj, filepath):
        if not FAIL_NEXT_WRITE.pop('on', False):
            return put(self, obj, filepath)
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError(28, 'No space left on device (simulated)')
    monkeypatch.setattr(LocalBackend, 'put', half_put)
    with pytest.raises(OSError, match='simulated'):
        make_runner(tmp_path, epochs=1, hooks=[FailingResaveHook()]).train()
    # the file being replaced is intact (it still says its validation is pending)
    assert _runtime_info(tmp_path / 'epoch_1.pth')['etad_validation_pending'] == 1
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
    ScriptedMetric.validated.clear()
    make_runner(tmp_path, epochs=1, resume=True).train()
    assert ScriptedMetric.validated == [1]
    assert _runtime_info(tmp_path / 'epoch_1.pth')['etad_validation_pending'] is None


def test_epoch_checkpoints_without_validation(tmp_path):
    make_runner(tmp_path, epochs=2, val=False).train()
    assert osp.exists(tmp_path / 'epoch_1.pth') and osp.exists(tmp_path / 'epoch_2.pth')


class DiskFullEpochHook(Hook):
    """Fails the save of the epoch checkpoint (with optimizer state) at ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def before_save_checkpoint(self, runner, checkpoint):
        if 'optimizer' in checkpoint and checkpoint['meta']['epoch'] == self.epoch:
            raise OSError(28, 'No space left on device (simulated)')


def test_outdated_checkpoint_is_removed_after_the_new_one_is_saved(tmp_path):
    with pytest.raises(OSError, match='No space left'):
        make_runner(tmp_path, epochs=2, val=False, ckpt=dict(max_keep_ckpts=1),
                    hooks=[DiskFullEpochHook(2)]).train()
    assert osp.exists(tmp_path / 'epoch_1.pth')       # stock: removed, nothing to resume
    assert open(tmp_path / 'last_checkpoint').read().endswith('epoch_1.pth')
    make_runner(tmp_path, epochs=2, val=False, ckpt=dict(max_keep_ckpts=1),
                resume=True).train()
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth')) == ['epoch_2.pth']


def _checkpoint(tmp_path, width=3):
    path = str(tmp_path / f'other_w{width}.pth')
    torch.save(dict(state_dict=ToyModel(width).state_dict(), meta=dict()), path)
    return path


def test_load_from_of_another_model_fails_naming_file_and_keys(tmp_path):
    ckpt = _checkpoint(tmp_path, width=5)
    with pytest.raises(CheckpointMismatchError) as err:
        make_runner(tmp_path / 'w', load_from=ckpt).train()
    msg = str(err.value)
    assert ckpt in msg and 'linear.weight: checkpoint (5, 2) vs model (3, 2)' in msg
    loader = dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=2, num_workers=0)
    runner = make_runner(tmp_path / 't', load_from=ckpt, test_dataloader=loader,
                         test_cfg=dict(), test_evaluator=[ScriptedMetric()])
    with pytest.raises(CheckpointMismatchError, match='other_w5.pth'):
        runner.test()


def test_missing_and_unexpected_keys_are_named(tmp_path):
    path = str(tmp_path / 'renamed.pth')
    state = {k.replace('out.', 'head.'): v for k, v in ToyModel().state_dict().items()}
    torch.save(dict(state_dict=state), path)
    with pytest.raises(CheckpointMismatchError) as err:
        make_runner(tmp_path / 'w', load_from=path).train()
    assert "missing from the checkpoint (['out.weight', 'out.bias'])" in str(err.value)
    assert "not in the model (['head.weight', 'head.bias'])" in str(err.value)


def test_relaxed_load_from_logs_what_was_skipped(tmp_path):
    ckpt = _checkpoint(tmp_path, width=5)
    runner = make_runner(tmp_path / 'w', epochs=1, load_from=ckpt,
                         ckpt=dict(strict_load=False))
    records = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    runner.logger.addHandler(Grab())
    runner.train()
    assert any('strict_load=False' in r and 'linear.weight' in r for r in records)


def test_resume_with_another_config_fails_at_load(tmp_path):
    make_runner(tmp_path, epochs=1).train()
    with pytest.raises(CheckpointMismatchError, match='cannot resume from checkpoint .*epoch_1'):
        make_runner(tmp_path, epochs=2, width=4, resume=True).train()


def test_diverging_run_stops_at_the_first_non_finite_loss(tmp_path):
    with pytest.raises(FloatingPointError) as err:
        make_runner(tmp_path, lr=1e30).train()
    msg = str(err.value)
    assert 'non-finite loss at iteration 2' in msg and 'loss_fit' in msg
    assert "NaN/Inf gradients of 4 parameters" in msg
    assert "'v2'" in msg and "'v3'" in msg                     # the videos of the batch
    assert not glob.glob(str(tmp_path / '*.pth'))              # nothing saved


class NaNGradModel(ToyModel):
    """Finite loss, NaN gradient at its second training step (as one huge feature
    value can give)."""

    steps = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = super().forward(inputs, data_samples, mode)
        if mode == 'loss':
            NaNGradModel.steps += 1
            if NaNGradModel.steps == 2:
                out['loss_fit'].register_hook(lambda g: g * float('nan'))
        return out


def test_non_finite_gradient_stops_the_run_at_that_iteration(tmp_path):
    NaNGradModel.steps = 0
    with pytest.raises(FloatingPointError) as err:
        make_runner(tmp_path, model=NaNGradModel()).train()
    msg = str(err.value)
    assert 'non-finite gradient at iteration 2' in msg and "'loss_fit'" in msg
    assert "'linear.weight'" in msg and "'v2'" in msg
    assert not glob.glob(str(tmp_path / '*.pth'))


class PoisonHook(Hook):
    """NaN weights after the last iteration (a non-finite gradient there)."""
    priority = 'HIGHEST'

    def after_train_epoch(self, runner):
        with torch.no_grad():
            runner.model.out.weight.fill_(float('nan'))


def test_non_finite_weights_are_never_saved(tmp_path):
    with pytest.raises(FloatingPointError, match='not saving a checkpoint.*out.weight'):
        make_runner(tmp_path, epochs=1, val=False, hooks=[PoisonHook()]).train()
    assert not glob.glob(str(tmp_path / '*.pth'))


def test_temporaries_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    stale = [tmp_path / f'.epoch_2.pth.{dead.pid}.tmp',
             tmp_path / f'.best_score_epoch_1.pth.{dead.pid}.tmp']
    live = tmp_path / f'.epoch_2.pth.{os.getppid()}.tmp'      # a writer still running
    for p in stale + [live]:
        p.write_bytes(b'partial')
    make_runner(tmp_path, epochs=1).train()
    assert not any(p.exists() for p in stale) and live.exists()


def test_resume_from_a_best_checkpoint_is_refused(tmp_path):
    """best_*.pth holds weights only: resuming it would restart AdamW and the
    schedule (issue 24, case 1)."""
    make_runner(tmp_path, epochs=2,
                param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=True)).train()
    best = str(tmp_path / 'best_score_epoch_2.pth')
    with pytest.raises(ResumeStateError) as err:
        make_runner(tmp_path, epochs=3, resume=True, load_from=best,
                    param_scheduler=dict(type='MultiStepLR', milestones=[1],
                                         by_epoch=True)).train()
    msg = str(err.value)
    assert best in msg and 'optimizer state' in msg and 'scheduler state' in msg
    assert str(tmp_path / 'epoch_2.pth') in msg and f'load_from={best}' in msg
    # the epoch checkpoint resumes
    make_runner(tmp_path, epochs=3, resume=True, load_from=str(tmp_path / 'epoch_2.pth'),
                param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=True)).train()
    assert osp.exists(tmp_path / 'epoch_3.pth')


class SpikeModel(ToyModel):
    """Finite losses ``scale`` x larger at the training steps in ``spikes``
    (1-based), as a far too high learning rate gives (issue 24, case 2)."""

    def __init__(self, spikes, scale=1e6, grad_only=False):
        super().__init__()
        self.spikes, self.scale, self.grad_only, self.steps = set(spikes), scale, grad_only, 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = super().forward(inputs, data_samples, mode)
        if mode == 'loss':
            self.steps += 1
            if self.steps in self.spikes:
                if self.grad_only:
                    out['loss_fit'].register_hook(lambda g: g * self.scale)
                else:
                    out['loss_fit'] = out['loss_fit'] * self.scale
        return out


def test_finite_divergence_stops_the_run(tmp_path):
    with pytest.raises(FloatingPointError) as err:
        make_runner(tmp_path, model=SpikeModel(range(2, 7)), lr=0.0).train()
    msg = str(err.value)
    assert 'diverged at iteration 2' in msg and '3 iterations (2 to 4' in msg
    assert 'loss stayed above 100 x its running median' in msg and "'loss_fit'" in msg
    assert "'v2'" in msg and 'optim_wrapper.optimizer.lr' in msg
    assert best_files(tmp_path) == ['best_score_epoch_1.pth']     # no later "best"


def test_gradient_norm_divergence_stops_the_run(tmp_path):
    with pytest.raises(FloatingPointError, match='gradient norm stayed above 100 x'):
        make_runner(tmp_path, model=SpikeModel(range(3, 7), grad_only=True),
                    lr=0.0).train()


def test_isolated_spikes_and_disabled_check_do_not_stop(tmp_path):
    make_runner(tmp_path / 'a', model=SpikeModel([2, 3, 5]), lr=0.0).train()
    runner = make_runner(tmp_path / 'b', model=SpikeModel(range(2, 7)), lr=0.0)
    runner.hooks[[type(h).__name__ for h in runner.hooks].index('NonFiniteCheckHook')] \
        .spike_factor = None
    runner.train()
    assert osp.exists(tmp_path / 'b' / 'epoch_3.pth')


def test_relaxed_load_from_that_matches_nothing_is_an_error(tmp_path):
    """strict_load=False with no key in common loaded nothing and trained on
    (issue 24, case 10)."""
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'backbone.conv.weight': torch.zeros(3)}}, path)
    with pytest.raises(CheckpointMismatchError, match='no weight of checkpoint .*other.pth'):
        make_runner(tmp_path / 'w', epochs=1, load_from=path,
                    ckpt=dict(strict_load=False)).train()


def test_copied_work_dir_resumes_from_its_own_files(tmp_path):
    """last_checkpoint holds an absolute path: a copy resumed from the original's
    files (issue 24, case 10)."""
    import shutil
    from etad_mmaction.engine.checkpoint_hook import find_resume_checkpoint
    make_runner(tmp_path / 'a', epochs=2).train()
    shutil.copytree(tmp_path / 'a', tmp_path / 'b')
    messages = []
    logger = logging.getLogger('test_copied_work_dir')
    logger.warning = messages.append
    assert find_resume_checkpoint(str(tmp_path / 'a')) == str(tmp_path / 'a' / 'epoch_2.pth')
    assert find_resume_checkpoint(str(tmp_path / 'b'), logger) == \
        str(tmp_path / 'b' / 'epoch_2.pth')
    assert 'a copied or moved work dir' in messages[0]
    assert find_resume_checkpoint(str(tmp_path / 'c')) is None


def test_runner_without_train_py_refuses_zero_iterations(tmp_path):
    loader = dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=8, num_workers=0, drop_last=True)
    with pytest.raises(ValueError, match='has 4 samples.*batch_size=8 with drop_last=True'):
        make_runner(tmp_path, train_dataloader=loader).train()
    assert not glob.glob(str(tmp_path / '*.pth'))
