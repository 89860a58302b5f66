"""Each upstream workaround of etad_mmaction.compat, tested in a fresh interpreter."""
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # the fast tier (pytest -m "not slow") skips it


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_py(code: str) -> str:
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_import_builds_stock_tsm_through_registry():
    out = run_py("""
        import etad_mmaction
        from mmaction.registry import MODELS
        m = MODELS.build(dict(type='ResNetTSM', depth=18, pretrained=None, num_segments=8))
        print(type(m).__name__)
    """)
    assert out.strip().endswith('ResNetTSM')


def test_missing_drn_is_stubbed_only_when_absent():
    out = run_py("""
        import importlib.util, os
        import etad_mmaction
        from etad_mmaction import compat
        import mmaction
        root = os.path.dirname(mmaction.__file__)
        has = os.path.isdir(os.path.join(root, 'models', 'localizers', 'drn'))
        print(has, 'drn' in compat.APPLIED)
        import mmaction.models.localizers as loc
        if not has:
            try:
                loc.DRN()
            except ImportError as e:
                print('clear error:', 'mmaction2' in str(e))
    """)
    has, applied = out.split()[:2]
    assert (has == 'True') == (applied == 'False')
    if has == 'False':
        assert 'clear error: True' in out


def test_multimodal_disabled_only_under_transformers5():
    out = run_py("""
        import importlib.metadata as md
        try:
            major = int(md.version('transformers').split('.')[0])
        except md.PackageNotFoundError:
            major = 0
        import etad_mmaction
        from etad_mmaction import compat
        import mmaction.models  # must not fail
        import mmaction.utils.dependency as dep
        print(major, 'multimodal' in compat.APPLIED, dep.WITH_MULTIMODAL)
    """)
    major, applied, flag = out.split()[-3:]
    if int(major) >= 5:
        assert applied == 'True' and flag == 'False'
    else:
        assert applied == 'False'


def test_checkpoint_with_history_buffer_loads_weights_only(tmp_path):
    out = run_py(f"""
        import torch, numpy as np
        import etad_mmaction
        from etad_mmaction.engine.checkpoint_hook import portable_message_hub
        from mmengine.logging import MessageHub
        hub = MessageHub.get_instance('t')
        for i in range(3):
            hub.update_scalar('train/loss', float(i))
        hub.update_info('iter', 3)
        state = portable_message_hub(hub.state_dict())   # what ETADCheckpointHook saves
        ckpt = dict(meta=dict(seed=0, epoch=1), message_hub=state,
                    state_dict=dict(w=torch.ones(2)), arr=np.arange(3.0))
        torch.save(ckpt, r'{tmp_path}/c.pth')
        loaded = torch.load(r'{tmp_path}/c.pth', weights_only=True)
        buf = loaded['message_hub']['log_scalars']['train/loss']
        print(type(buf).__name__, buf.mean(), type(hub.get_scalar('train/loss')).__name__)
    """)
    assert out.split()[-3:] == ['HistoryBuffer', '1.0', 'HistoryBuffer']


def test_missing_mmcv_gives_actionable_error():
    out = subprocess.run([sys.executable, '-c', textwrap.dedent("""
        import sys
        class Hide:
            def find_spec(self, name, path=None, target=None):
                if name == 'mmcv' or name.startswith('mmcv.'):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, Hide())
        import importlib.util
        orig = importlib.util.find_spec
        importlib.util.find_spec = lambda n, *a: None if n == 'mmcv' else orig(n, *a)
        import etad_mmaction
    """)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'etad-mmaction[lite]' in out.stderr


def test_import_is_quiet_with_mmcv_lite():
    """Importing the plugin and MMAction2's models does not warn about
    MultiScaleDeformableAttention; the silencing applies only with mmcv-lite."""
    out = subprocess.run([sys.executable, '-W', 'always', '-c', textwrap.dedent("""
        import importlib.util
        import etad_mmaction, mmaction.models
        from etad_mmaction import compat
        print(importlib.util.find_spec('mmcv._ext') is None, 'quiet_mmcv_lite' in compat.APPLIED)
    """)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lite, applied = out.stdout.split()[-2:]
    assert lite == applied
    assert 'MultiScaleDeformableAttention' not in out.stderr


def test_torch_and_torchvision_pair_is_checked():
    """A CPU torch with a CUDA torchvision died with 'operator torchvision::nms does
    not exist' on the first batch (issue 24, case 12): named at import."""
    from etad_mmaction.compat import torch_pair_problem
    fatal, msg = torch_pair_problem('2.14.1+cpu', '0.29.1+cu130')
    assert fatal and 'torchvision 0.29.1+cu130' in msg and 'torch 2.14.1+cpu' in msg
    assert 'reinstall torchvision' in msg and 'whl/cpu' in msg
    fatal, msg = torch_pair_problem('2.14.1', '0.28.0')
    assert not fatal and 'pairs with torchvision 0.29' in msg
    for pair in (('2.14.1+cu130', '0.29.1+cu130'), ('2.14.1', '0.29.0+cpu'),
                 ('2.5.0a0+git1', '0.20.0a0'), ('garbage', '0.1')):
        assert torch_pair_problem(*pair) is None, pair
    # fatal only for two known wheel kinds that differ (kind or CUDA major)
    for pair in (('2.14.1+cu130', '0.29.1+cpu'), ('2.14.1+cu118', '0.29.1+cu121'),
                 ('2.14.1+rocm6.1', '0.29.1+cu121'), ('2.14.1+xpu', '0.29.1+cpu')):
        fatal, msg = torch_pair_problem(*pair)
        assert fatal and 'cannot load' in msg, pair
    # source / NVIDIA builds and a CUDA minor difference: a warning
    for pair in (('2.6.0a0+git1eba9b3', '0.21.0a0+7d077f1'), ('2.14.1+cu124', '0.29.1+cu121'),
                 ('2.5.0a0+e000cf0ad9.nv24.10', '0.20.0a0+cpu')):
        fatal, msg = torch_pair_problem(*pair)
        assert not fatal and 'another torch build' in msg, pair
    fatal, msg = torch_pair_problem('2.14.1+cu124', '0.28.0+cu121')   # both notes
    assert not fatal and 'another torch build' in msg and 'pairs with torchvision 0.29' in msg
    import importlib.metadata
    assert torch_pair_problem(importlib.metadata.version('torch'),
                              importlib.metadata.version('torchvision')) is None
