"""What the measurement scripts of tools/analysis share (a module, not a script): the
machine and code a result was measured on, the timed step loop, one subprocess per
measured configuration, the JSON output and the lines every report section starts with.

The scripts, each writing one JSON under docs/benchmarks/ and rendering it
(``render``) for ``benchmark_report.py`` (which regenerates docs/benchmarks.md)::

    detector_benchmark.py CONFIG   ETAD vs stock BMN: step, memory, inference; DPS 6 vs 100%
    dps_benchmark.py CONFIG        DPS ratio sweep (training cost), grid DPS at inference
    egs_benchmark.py CONFIG        EGS memory and step time vs ratio, mode and chunk size
    dps_sweep.py                   mAP of DPS ratios and sampling strategies (training runs)
    map_comparison.py DIR          gpu_map_comparison.sh's ETAD / BMN runs -> one JSON
    step_profile.py CONFIG         counted ops, host syncs and tensor memory of one step
"""
import datetime
import json
import os
import os.path as osp
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OUT_DIR = osp.join(ROOT, 'docs', 'benchmarks')


def code_commit():
    """The measured code: ``$ETAD_COMMIT`` (set it where the tree is a copy without
    ``.git``, e.g. on a lent GPU machine), else ``git rev-parse --short HEAD`` with
    ``+modified`` when tracked files differ from it; None when neither is known."""
    if os.environ.get('ETAD_COMMIT'):
        return os.environ['ETAD_COMMIT']
    try:
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ('+modified' if dirty.strip() else '')


def environment(device: str) -> dict:
    import mmaction
    import mmengine
    import torch
    env = dict(date=datetime.date.today().isoformat(), python=platform.python_version(),
               torch=torch.__version__, mmengine=mmengine.__version__,
               mmaction2=mmaction.__version__, device=device,
               threads=torch.get_num_threads(),
               omp_num_threads=os.environ.get('OMP_NUM_THREADS'))
    commit = code_commit()
    if commit:
        env['commit'] = commit
    if device == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(0)
        env['cudnn_allow_tf32'] = torch.backends.cudnn.allow_tf32
        env['matmul_allow_tf32'] = torch.backends.cuda.matmul.allow_tf32
    else:
        cpu = platform.processor()
        try:
            with open('/proc/cpuinfo') as f:
                cpu = next(line.split(':', 1)[1].strip() for line in f
                           if line.startswith('model name'))
        except (OSError, StopIteration):
            pass
        env['cpu'] = cpu
        env['cores'] = os.cpu_count()
    return env


def model_config(config: str, cfg_options=None) -> dict:
    """``model`` of ``Config.fromfile(config)`` with ``--cfg-options`` merged, as a dict."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg.model.to_dict()


def timed_steps(step, warmup: int, steps: int, device: str) -> dict:
    """Median seconds of ``step()`` after ``warmup`` calls; peak memory of the steps:
    on CUDA ``max_memory_allocated`` minus what was allocated before, on CPU the rise
    of peak RSS over the RSS before (so one configuration per process)."""
    import resource

    import torch
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    with open('/proc/self/statm') as f:
        rss0 = int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step()
        if device == 'cuda':
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    res = dict(step_s=statistics.median(times), step_times_s=times)
    if device == 'cuda':
        res['peak_mb'] = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        res['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
    return res


def measure_many(script: str, specs: list) -> list:
    """Run ``script _worker SPECS`` (its ``run_worker`` per spec). CPU: one process per
    spec (peak RSS is per process); CUDA: one for all (peak memory reset in between)."""
    batches = [specs] if specs and specs[0].get('device') == 'cuda' else [[s] for s in specs]
    results = []
    for batch in batches:
        out = subprocess.run([sys.executable, script, '_worker', json.dumps(batch)], cwd=ROOT,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f'benchmark worker failed for {batch}:\n{out.stderr[-3000:]}')
        got = json.loads(out.stdout.strip().splitlines()[-1])
        for spec, r in zip(batch, got):
            print(f"  {json.dumps({k: v for k, v in spec.items() if k != 'model'})} -> "
                  f"{json.dumps({k: v for k, v in r.items() if k != 'step_times_s'})}",
                  file=sys.stderr, flush=True)
        results.extend(got)
    return results


def thread_policy():
    """tools/train.py's CPU thread policy (``etad_mmaction.engine.launcher``), which
    every measurement applies in its main process and its workers."""
    sys.path.insert(0, ROOT)
    from etad_mmaction.engine.launcher import set_cpu_threads
    return set_cpu_threads()


def worker_main(run_worker) -> bool:
    """In a ``_worker`` subprocess: run the specs (freeing CUDA memory in between; an
    out-of-memory is a measured outcome) and print their results; else False."""
    if len(sys.argv) < 3 or sys.argv[1] != '_worker':
        return False
    thread_policy()
    import gc

    import torch
    out = []
    for spec in json.loads(sys.argv[2]):
        try:
            out.append(run_worker(spec))
        except torch.cuda.OutOfMemoryError as err:
            out.append(dict(error=f'CUDA out of memory: {str(err)[:200]}'))
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    print(json.dumps(out))
    return True


def write_result(res: dict, out: str, quiet: bool = False) -> None:
    from etad_mmaction.fileio import dump_json
    dump_json(res, out, indent=2)
    if not quiet:
        print(json.dumps(res, indent=2))


# --------------------------------------------------------------------------- rendering
def env_line(env: dict) -> str:
    where = env.get('gpu') or f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores"
    return (f"{where}; torch {env.get('torch')}, mmengine {env.get('mmengine')}, "
            f"mmaction2 {env.get('mmaction2')}, Python {env.get('python')}, "
            f"{env.get('threads')} threads; {env.get('date')}"
            + (f"; code {env['commit']}" if env.get('commit') else ''))


def command(d: dict) -> str:
    cmd = re.sub(r' --out \S+', '', d['command'])
    if d.get('env', {}).get('device') == 'cuda' and 'gpu_' not in cmd:
        return cmd + '` (run by `bash tools/analysis/gpu_benchmarks.sh`)'
    return cmd + '`'


def head(title: str, d: dict, cmd=None) -> list:
    return [f'### {title}', '', f"Command: `{cmd + '`' if cmd else command(d)}  ",
            f"Machine: {env_line(d['env'])}", '']


def pct(x) -> str:
    return f'{100 * x:.2f}'
