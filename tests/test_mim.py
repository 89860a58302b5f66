"""`mim train etad_mmaction <config>` from an editable and from a regular install.

openmim pins old setuptools/requests/rich through its dependencies, so it is not
installed into the environment: it goes, with the few modules `mim train`
imports, into a throw-away ``--target`` folder put on PYTHONPATH.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def mim_path(tmp_path_factory, mim_packages):
    target = str(tmp_path_factory.mktemp('mim_site'))
    out = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                          '--target', target, *mim_packages], capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return target


def mim_train(pythonpath, cwd, data_root, work_dir):
    opts = []
    for key in ('train_dataloader',):  # --no-validate: no val/test loaders
        opts += [f'{key}.dataset.data_root={data_root}',
                 f'{key}.dataset.synthetic.num_train=16', f'{key}.dataset.synthetic.num_val=4']
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath), OMP_NUM_THREADS='1')
    # a bare config name: mim finds it in <package>/.mim/configs
    cmd = [sys.executable, '-m', 'mim', 'train', 'etad_mmaction',
           'etad_1xb16-6e_synthetic-anet-feature.py', '--work-dir', work_dir, '--no-validate',
           '--cfg-options', 'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', *opts]
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))
    return out.stdout + out.stderr


def test_mim_train_editable_install(mim_path, tmp_path):
    """The test environment's own editable install (pip install -e .)."""
    log = mim_train([mim_path], str(tmp_path), str(tmp_path / 'data'), str(tmp_path / 'work'))
    assert 'Epoch(train) [1][1/1]' in log


def _source_files():
    """The checkout's files as git sees them (tracked and not ignored); in a copy
    without ``.git`` (CI runs the suite from one) every file outside the ignored
    build, data and environment folders."""
    git = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                         cwd=ROOT, capture_output=True, text=True)
    if git.returncode == 0 and osp.isdir(osp.join(ROOT, '.git')):
        return git.stdout.split()
    skip = {'.git', '.venv', 'build', 'data', 'work_dirs', '__pycache__', '.pytest_cache',
            '.mim', '.whl'}
    files = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.endswith('.egg-info')
                       and not d.startswith('.venv')]
        files += [osp.relpath(osp.join(dirpath, f), ROOT) for f in filenames
                  if not f.endswith('.pyc')]
    return files


def test_mim_train_regular_install(mim_path, tmp_path):
    """A regular (non-editable) install of a clean copy of the sources."""
    src = tmp_path / 'src'
    for f in _source_files():
        if f.startswith(('tests/', 'docs/')) or not osp.isfile(osp.join(ROOT, f)):
            continue
        os.makedirs(osp.dirname(src / f), exist_ok=True)
        shutil.copy2(osp.join(ROOT, f), src / f)
    site = tmp_path / 'site'
    out = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                          '--no-build-isolation', '--target', str(site), str(src)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert osp.isfile(site / 'etad_mmaction' / '.mim' / 'tools' / 'train.py')
    assert osp.isfile(site / 'etad_mmaction' / '.mim' / 'configs' / 'etad' /
                      'etad_1xb16-6e_synthetic-anet-feature.py')
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    log = mim_train([str(site), mim_path], str(run_dir), str(tmp_path / 'data'),
                    str(tmp_path / 'work'))
    assert str(site) in log  # mim used the regular install's .mim/tools/train.py


def test_mim_search_lists_every_indexed_config(mim_path, tmp_path):
    """``mim search etad_mmaction`` reads the package's model index (model-index.yml
    -> configs/*/metafile.yml, linked into etad_mmaction/.mim)."""
    import yaml
    names = []
    for meta in yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))['Import']:
        names += [m['Name'] for m in yaml.safe_load(open(osp.join(ROOT, meta)))['Models']]
    env = dict(os.environ, PYTHONPATH=mim_path, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, '-m', 'mim', 'search', 'etad_mmaction'],
                         cwd=str(tmp_path), capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    listed = [line.split(':', 1)[1].strip() for line in out.stdout.splitlines()
              if line.startswith('config id:')]
    assert sorted(listed) == sorted(names) and len(names) == 17
