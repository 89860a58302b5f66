"""Workarounds that ``import mmaction.models`` needs, applied once at ``import
etad_mmaction`` (what ``custom_imports`` does), and nothing else.

Each one checks whether it is needed, is a no-op otherwise, and says which
upstream defect it covers and when it can go. Nothing in site-packages is
edited. ``APPLIED`` records which ones fired, for tests and bug reports. Fixes
needed by one tool or one hook live there: atomic checkpoints and weights-only
message hubs in ``ETADCheckpointHook``, file-naming checkpoint errors in
``engine.checkpoint_io`` (applied by that hook and ``init_detector``), NumPy's
``trapz`` in ``tools/analysis/bmn_baseline.py``.
"""
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import types
from typing import List

APPLIED: List[str] = []
_DONE = False


def _check_mmcv() -> None:
    """MMAction2 needs mmcv but the plugin does not force a distribution of it
    (OpenMMLab convention: a user's full mmcv must not be overwritten)."""
    if importlib.util.find_spec('mmcv') is None:
        raise ImportError(
            'etad_mmaction needs mmcv, and none is installed. Install the pure-Python '
            'build with `pip install "etad-mmaction[lite]"` (or `pip install '
            '"mmcv-lite>=2.0.0rc4,<2.2.0"`), or a full mmcv 2.x built for your torch '
            '(`mim install "mmcv>=2.0.0rc4,<2.2.0"`).')


def _stub_missing_drn() -> None:
    """The mmaction2 1.2.0 wheel on PyPI omits ``mmaction/models/localizers/drn/``
    while ``localizers/__init__.py`` imports ``.drn.drn.DRN``, so
    ``import mmaction.models`` fails. Provide a placeholder DRN that raises a
    clear error if anyone builds it. Can go with an mmaction2 wheel that ships
    ``drn/``."""
    if 'mmaction.models.localizers.drn' in sys.modules:
        return
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return
    root = list(spec.submodule_search_locations)[0]
    if os.path.isdir(os.path.join(root, 'models', 'localizers', 'drn')):
        return
    pkg = types.ModuleType('mmaction.models.localizers.drn')
    pkg.__path__ = []  # a package, so that ``.drn.drn`` resolves
    mod = types.ModuleType('mmaction.models.localizers.drn.drn')

    class DRN:  # noqa: D401 - placeholder
        """Placeholder for the DRN localizer missing from the mmaction2 1.2.0 wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError('DRN is missing from the installed mmaction2 wheel '
                              '(a packaging defect of mmaction2 1.2.0 on PyPI); '
                              'install mmaction2 from source to use it.')

    DRN.__module__ = mod.__name__
    mod.DRN = DRN
    pkg.drn = mod
    sys.modules[pkg.__name__] = pkg
    sys.modules[mod.__name__] = mod
    APPLIED.append('drn')


def _disable_multimodal_under_transformers5() -> None:
    """mmaction2 1.2.0 enables its VindLU multimodal models whenever
    ``transformers>=4.28`` is installed, and their modules import names that
    transformers 5 removed (``transformers.file_utils`` and others), which makes
    ``import mmaction.models`` fail. Flip the flag so MMAction2 registers its own
    placeholders instead (the same path it takes without transformers). Can go
    with an mmaction2 release that supports transformers 5."""
    try:
        version = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        return
    major = int(version.split('.')[0]) if version.split('.')[0].isdigit() else 0
    if major < 5 or 'mmaction.models.multimodal' in sys.modules:
        return
    dependency = importlib.import_module('mmaction.utils.dependency')
    if getattr(dependency, 'WITH_MULTIMODAL', False):
        dependency.WITH_MULTIMODAL = False
        APPLIED.append('multimodal')


def _allow_mmengine_checkpoint_types() -> None:
    """MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; since
    torch 2.6 that defaults to True and refuses the non-tensor objects MMEngine
    stores in its own checkpoints (``message_hub`` holds ``HistoryBuffer`` of
    numpy arrays), so ``--resume`` fails with ``Unsupported global``.
    Allow-list exactly those types; weights-only loading stays on. Can go when
    MMEngine passes its own allow-list to ``torch.load``."""
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return  # torch < 2.4: weights_only defaults to False there anyway
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    safe = [HistoryBuffer, np.ndarray, np.dtype]
    try:  # numpy >= 1.25 moved the reconstructor; keep whichever exists
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - older numpy
        from numpy.core.multiarray import _reconstruct, scalar
    safe += [_reconstruct, scalar]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                     'Int32DType', 'BoolDType', 'UInt8DType'):
            if hasattr(dtypes, name):
                safe.append(getattr(dtypes, name))
    safe += [np.float64, np.float32, np.int64, np.int32, np.bool_]
    torch.serialization.add_safe_globals(safe)

    APPLIED.append('torch_load_safe_globals')


def _quiet_mmcv_lite_transformer() -> None:
    """With mmcv-lite (no compiled ops), importing ``mmcv.cnn.bricks.transformer``,
    which ``mmaction.models`` does, warns on every import that
    ``MultiScaleDeformableAttention`` is missing; no MMAction2 recognizer or ETAD
    module uses it. Import the module once with that one warning silenced."""
    if 'mmcv.cnn.bricks.transformer' in sys.modules:
        return
    if importlib.util.find_spec('mmcv') is None or \
            importlib.util.find_spec('mmcv._ext') is not None:
        return  # a full mmcv has the op: nothing to silence
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention',
                                category=UserWarning)
        importlib.import_module('mmcv.cnn.bricks.transformer')
    APPLIED.append('quiet_mmcv_lite')


def _build_kind(tag: str):
    """``(kind, CUDA major)`` of a PyTorch wheel tag (``cpu``, ``cu121``, ``rocm6.1``,
    ``xpu``), or None for other tags (source / NVIDIA builds: ``git1eba9b3``)."""
    cuda = re.fullmatch(r'cu(\d+)\d', tag)
    if cuda:
        return 'cu', int(cuda.group(1))
    if tag in ('cpu', 'xpu'):
        return tag, None
    if re.fullmatch(r'rocm[\d.]+', tag):
        return 'rocm', None
    return None


def torch_pair_problem(torch_version: str, torchvision_version: str):
    """``(fatal, message)`` when torchvision was not built for the installed torch,
    else None. Compares the distributions' versions only (torchvision is not
    imported): wheels of another kind (``+cpu`` vs ``+cu121``, or CUDA 11 vs 12)
    cannot load their ops (``operator torchvision::nms does not exist`` on the
    first batch): fatal. Other different tags (``cu124`` vs ``cu121``, source or
    NVIDIA builds) and a torch 2.N not paired with torchvision 0.(N+15) warn."""
    t_base, _, t_tag = torch_version.partition('+')
    v_base, _, v_tag = torchvision_version.partition('+')
    fix = ('reinstall torchvision for this torch (the same index, e.g. `pip install '
           f'torchvision --index-url https://download.pytorch.org/whl/{t_tag or "cpu"}`), '
           'or torch and torchvision together')
    notes = []
    if t_tag and v_tag and t_tag != v_tag:
        kinds = _build_kind(t_tag), _build_kind(v_tag)
        fatal = None not in kinds and kinds[0] != kinds[1]
        msg = (f'torchvision {torchvision_version} was built for another torch build '
               f'({v_tag}) than the installed torch {torch_version} ({t_tag})')
        if fatal:
            return True, f'{msg}: its operators (nms, roi_align) cannot load. {fix}'
        notes.append(f'{msg}; if its operators (nms) fail to load, {fix}')
    try:
        t_major, t_minor = (int(x) for x in t_base.split('.')[:2])
        v_major, v_minor = (int(x) for x in v_base.split('.')[:2])
    except ValueError:
        t_major = v_major = None
    if t_major == 2 and v_major == 0 and v_minor != t_minor + 15:
        notes.append(f'torchvision {torchvision_version} does not match torch '
                     f'{torch_version} (torch 2.{t_minor} pairs with torchvision '
                     f'0.{t_minor + 15}): {fix}')
    return (False, '. '.join(notes)) if notes else None


def _check_torchvision() -> None:
    """Name the package to reinstall when torch and torchvision do not match."""
    try:
        versions = (importlib.metadata.version('torch'),
                    importlib.metadata.version('torchvision'))
    except importlib.metadata.PackageNotFoundError:
        return
    problem = torch_pair_problem(*versions)
    if problem is None:
        return
    fatal, message = problem
    if fatal:
        raise ImportError(f'etad_mmaction: {message}')
    import warnings
    warnings.warn(f'etad_mmaction: {message}', RuntimeWarning, stacklevel=3)



def apply() -> List[str]:
    """Apply every needed workaround once; returns the names of those applied."""
    global _DONE
    if _DONE:
        return APPLIED
    _check_mmcv()
    _check_torchvision()
    _stub_missing_drn()
    _disable_multimodal_under_transformers5()
    _allow_mmengine_checkpoint_types()
    _quiet_mmcv_lite_transformer()
    _DONE = True
    return APPLIED
