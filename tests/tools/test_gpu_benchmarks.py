"""tools/analysis/gpu_benchmarks.sh end to end in its CPU dry-run mode (toy sizes, one
thread): every default section runs its commands and writes the JSON the report
renders, so the script a lent GPU runs once cannot rot."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it


def test_dry_run_writes_every_result(tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, DRY_RUN='1', PYTHON=sys.executable, PYTHONPATH=ROOT,
               ETAD_BENCH_DATA=str(tmp_path / 'anet'), ETAD_BENCH_WORK=str(tmp_path / 'work'),
               ETAD_COMMIT='test')
    proc = subprocess.run(['bash', 'tools/analysis/gpu_benchmarks.sh', str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert '=== all sections done' in proc.stdout
    step = json.loads((out / 'train_step_cpu.json').read_text())
    assert step['env']['threads'] == 1 and step['env']['commit'] == 'test'
    assert step['modes']['eager']['step_ms'] > 0 and step['bmn']['peak_mb'] > 0
    assert step['etad_over_bmn_step'] > 0 and step['etad_over_bmn_cpu_step'] > 0
    assert step['modes']['eager']['inference_ms_per_video'] > 0
    bf16 = step['variants']['bf16-roi']       # the inexact option, beside the exact step
    assert bf16['cfg_options'] == {'model.roi_head.stage_head.roi_matmul_dtype': 'bfloat16'}
    assert bf16['step_ms'] > 0 and bf16['over_bmn_cpu_step'] > 0 and bf16['over_bmn_peak'] > 0
    amp = step['variants']['bf16-autocast']  # against BMN under the same autocast too
    assert amp['cfg_options'] == {'autocast': 'bfloat16'}
    assert step['bmn_autocast']['autocast'] == 'bfloat16' and step['bmn_autocast']['step_ms'] > 0
    assert amp['over_bmn_autocast_cpu_step'] > 0 and amp['over_bmn_cpu_step'] > 0
    assert amp['over_bmn_autocast_step'] > 0 and 'inference_ms_per_video' not in amp
    inf = json.loads((out / 'inference_cpu.json').read_text())
    assert set(inf['batches']) == {'4', '1'} and inf['videos'] == 8
    for r in inf['batches'].values():
        assert r['ms_per_video'] > 0 and 0 <= r['postprocess_ms_per_video'] <= r['ms_per_video']
        assert r['candidates_per_video'] > 0
    epoch = json.loads((out / 'epoch_cpu.json').read_text())
    assert epoch['env']['device'] == 'cpu'
    assert (out / 'epoch-loader8_cpu.json').is_file()


def test_a_failing_section_fails_the_run(tmp_path):
    """A section that fails (here: a config that does not exist) is reported and makes
    the exit status 1; the other sections still run."""
    script = open(osp.join(ROOT, 'tools', 'analysis', 'gpu_benchmarks.sh')).read()
    broken = tmp_path / 'gpu_benchmarks.sh'
    broken.write_text(script.replace('STEP_CFG=$TINY', 'STEP_CFG=configs/missing.py'))
    env = dict(os.environ, DRY_RUN='1', PYTHON=sys.executable, PYTHONPATH=ROOT)
    proc = subprocess.run(['bash', str(broken), str(tmp_path / 'out'), 'step'], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert '=== failed: train_step_cpu' in proc.stdout
