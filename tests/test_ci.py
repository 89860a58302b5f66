""".ci/run installs the prebuilt torch-cluster wheel from the original checkout's
../shared/wheels only when it fits the environment (.ci/torch_cluster_wheel), and then
allows no skip; without it the one torch-cluster skip is the only one allowed."""
import os
import os.path as osp
import re
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join(ROOT, '.ci', 'torch_cluster_wheel')
WHEEL = 'torch_cluster-1.6.3-cp311-cp311-linux_x86_64.whl'


def choose(checkout, torch_version='2.14.1+cu130', python='3.11'):
    env = {k: v for k, v in os.environ.items() if k != 'ETAD_CI_WHEELS'}
    out = subprocess.run(['bash', SCRIPT, str(checkout), torch_version, python],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip(), out.stderr


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / 'repo').mkdir()
    wheels = tmp_path / 'shared' / 'wheels'
    wheels.mkdir(parents=True)
    (wheels / WHEEL).write_bytes(b'')
    return tmp_path / 'repo'


def test_wheel_chosen_beside_the_checkout(checkout):
    assert choose(checkout) == (str(checkout.parent / 'shared' / 'wheels' / WHEEL), '')
    assert choose(checkout, '2.14.1')[0].endswith(WHEEL)


@pytest.mark.parametrize('torch_version, python, reason', [
    ('2.13.0', '3.11', 'torch 2.13.0, but .* is built for torch 2.14.1'),
    ('2.14.10', '3.11', 'torch 2.14.10, but'),
    ('2.14.1', '3.12', 'Python 3.12, but .* is built for Python 3.11'),
])
def test_no_wheel_for_another_environment(checkout, torch_version, python, reason):
    wheel, why = choose(checkout, torch_version, python)
    assert wheel == ''
    assert re.search(reason, why), why


def test_fresh_clone_without_shared(tmp_path):
    wheel, why = choose(tmp_path)
    assert wheel == '' and 'the torch-cluster comparison will be skipped' in why


def test_run_looks_beside_the_original_checkout_and_then_allows_no_skip():
    with open(osp.join(ROOT, '.ci', 'run')) as f:
        run = f.read()
    assert run.index('checkout=$(pwd -P)') < run.index('cd "$repo"') < run.index(
        '.ci/torch_cluster_wheel "$checkout"')
    assert "[ -n \"$wheel\" ] && allowed='^$'" in run
    assert os.access(SCRIPT, os.X_OK)
