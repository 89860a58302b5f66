"""One CPU thread policy (issue 25, item 5): every tool that runs a model applies
``etad_mmaction.engine.launcher.set_cpu_threads`` (tools/train.py's policy) and
the benchmarks record the thread count."""
import os
import os.path as osp

import pytest
import torch

from etad_mmaction.engine.launcher import set_cpu_threads, thread_record

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = ['train.py', 'test.py', 'demo.py', 'data/extract_features.py',
         'analysis/benchmark.py', 'analysis/train_step_benchmark.py',
         'analysis/epoch_benchmark.py', 'analysis/sampler_cost.py',
         'analysis/bmn_baseline.py', 'analysis/egs_fidelity.py',
         # through benchmark.thread_policy()
         'analysis/detector_benchmark.py', 'analysis/dps_benchmark.py',
         'analysis/egs_benchmark.py', 'analysis/step_profile.py']
#: tools that train through tools/train.py (repeat_runs.train_once)
THROUGH_TRAIN = ['analysis/repeat_runs.py', 'analysis/ablation.py',
                 'analysis/compare_presets.py', 'analysis/dps_sweep.py']


def read_tool(tool):
    with open(osp.join(ROOT, 'tools', tool)) as f:
        return f.read()


@pytest.mark.parametrize('tool', TOOLS)
def test_every_tool_applies_the_shared_policy(tool):
    text = read_tool(tool)
    assert 'set_cpu_threads()' in text or 'B.thread_policy()' in text
    assert 'def set_cpu_threads' not in text
    if 'B.thread_policy()' in text:
        assert 'set_cpu_threads()' in read_tool('analysis/benchmark.py')


@pytest.mark.parametrize('tool', THROUGH_TRAIN)
def test_training_tools_go_through_train_py(tool):
    text = read_tool(tool)
    if tool.endswith('repeat_runs.py'):
        assert "osp.join(ROOT, 'tools', 'train.py')" in text
    else:
        assert 'from repeat_runs import' in text and 'train_once(' in text


def test_policy_and_record(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    lines = []
    log = type('L', (), {'info': staticmethod(lines.append)})
    try:
        monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
        monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(6)))
        assert set_cpu_threads(log, 'CPU test') == 3 and torch.get_num_threads() == 3
        assert lines == ['CPU test with 3 torch threads (half the cores; set OMP_NUM_THREADS '
                         'to choose)']
        assert thread_record() == dict(torch_threads=3, OMP_NUM_THREADS=None, cores=6)
        monkeypatch.setenv('OMP_NUM_THREADS', '2')
        assert set_cpu_threads(log) is None and 'OMP_NUM_THREADS=2' in lines[-1]
    finally:
        torch.set_num_threads(before)
