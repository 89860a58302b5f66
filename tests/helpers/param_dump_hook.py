"""Test-only hooks: every rank saves its final parameters to ``work_dir``; with
``ETAD_TEST_KILL=RANK:ITER`` in the environment, that rank kills itself (SIGKILL)
before global iteration ITER (0-based), as a crashed or OOM-killed process would."""
import os
import os.path as osp
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


@HOOKS.register_module()
class ParamDumpHook(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        kill = os.environ.get('ETAD_TEST_KILL')
        if kill:
            rank, it = (int(x) for x in kill.split(':'))
            if get_rank() == rank and runner.iter == it:
                with open(osp.join(runner.work_dir, f'killed_rank{rank}'), 'w') as f:
                    f.write(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir, f'params_rank{get_rank()}.pth'))
