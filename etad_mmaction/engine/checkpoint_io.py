"""Checkpoint files that are either complete or absent, and that fail loudly.

MMEngine's ``Runner.save_checkpoint`` writes straight to ``epoch_N.pth``: a run
killed during the write (kill -9, node preemption) leaves a truncated file that
``--resume auto`` then picks. Applied at ``import etad_mmaction``:

* ``save``: local checkpoints are written to a temporary file in the same folder
  and renamed into place (``os.replace`` is atomic on POSIX), so a reader sees
  the old file, or the new one, never half of one;
* ``load``: a local checkpoint that ``torch.load`` cannot read (truncated,
  corrupt, not a checkpoint) raises an error naming the file.

Remote paths (``s3://``, ``http://`` ...) keep MMEngine's behaviour.
"""
import functools
import os
import os.path as osp
import pickle

import torch

_APPLIED = False


def _is_local(path) -> bool:
    return isinstance(path, (str, os.PathLike)) and '://' not in str(path)


def atomic_save(original):
    @functools.wraps(original)
    def save_checkpoint(checkpoint, filename, *args, **kwargs):
        if not _is_local(filename):
            return original(checkpoint, filename, *args, **kwargs)
        filename = str(filename)
        tmp = osp.join(osp.dirname(filename) or '.',
                       f'.{osp.basename(filename)}.{os.getpid()}.tmp')
        try:
            original(checkpoint, tmp, *args, **kwargs)
            os.replace(tmp, filename)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
    save_checkpoint._etad_atomic = True
    return save_checkpoint


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
    global _APPLIED
    if _APPLIED:
        return
    import mmengine.runner as package
    from mmengine.runner import checkpoint as ckpt_mod
    from mmengine.runner import runner as runner_mod
    # every name MMEngine saves through: the module's, the Runner's import and the
    # package's (``CheckpointHook`` imports ``mmengine.runner.save_checkpoint``)
    for mod in (ckpt_mod, runner_mod, package):
        if not getattr(mod.save_checkpoint, '_etad_atomic', False):
            mod.save_checkpoint = atomic_save(mod.save_checkpoint)
    ckpt_mod.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    _APPLIED = True
