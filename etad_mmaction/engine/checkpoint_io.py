"""Checkpoint files that fail loudly when they cannot be read.

Applied where checkpoints are loaded (``ETADCheckpointHook.before_run``,
``init_detector``), not at import: a local checkpoint that ``torch.load``
cannot read (truncated, corrupt, not a checkpoint) raises an error naming the
file (MMEngine 0.10.7's local loader re-raises torch's message without the
path; remove this when MMEngine names the file). Writing checkpoints whole or
not at all is :class:`~etad_mmaction.engine.ETADCheckpointHook`'s job (the
configs' ``default_hooks.checkpoint``), not a patch of MMEngine.

Remote paths (``s3://``, ``http://`` ...) keep MMEngine's behaviour.
"""
import os.path as osp
import pickle

import torch

_APPLIED = False


def load_from_local(filename, map_location=None):
    """MMEngine's local loader, with an error that names the file."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
        text = str(err)
        if 'Unsupported global' in text:
            # a readable file holding a type that weights-only loading refuses
            raise pickle.UnpicklingError(f'cannot load checkpoint {filename}: {text}') from err
        first = (text.splitlines() or [''])[0][:200]
        raise RuntimeError(f'cannot load checkpoint {filename} '
                           f'({osp.getsize(filename)} bytes; {type(err).__name__}: {first}); '
                           f'the file may be truncated or corrupt') from err


def apply() -> None:
    """Register :func:`load_from_local` for local paths (once)."""
    global _APPLIED
    if _APPLIED:
        return
    from mmengine.runner import checkpoint as ckpt_mod
    ckpt_mod.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    _APPLIED = True
