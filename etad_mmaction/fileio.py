"""Files written whole or not at all, and the leftovers of writers that died.

Every file the project writes (predictions, checkpoints, features, converted
weights, benchmark results, figures) goes through :func:`atomic_path`: the data
is written to ``.<name>.<pid>.tmp`` beside the target and renamed into place
(``os.replace``) only when complete, so a kill or a full disk leaves the old file
or the new one, never half of one. :func:`remove_dead_temporaries` clears the
temporaries of processes that no longer exist.
"""
import contextlib
import json
import os
import os.path as osp
import re
from typing import Iterator, List, Optional

_TMP = re.compile(r'^\.(.+)\.(\d+)\.tmp$')  # .<target>.<pid>.tmp


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def umask() -> int:
    """The process's file-creation mask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_name(path: str) -> str:
    """``<dir>/.<name>.<pid>.tmp``: where :func:`atomic_path` writes ``path``."""
    return osp.join(osp.dirname(path), f'.{osp.basename(path)}.{os.getpid()}.tmp')


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write ``path``'s content to; on success it is
    given the user's umask and renamed onto ``path``, on any error removed (the
    error propagates). Folders are created."""
    path = osp.abspath(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def dump_json(obj, path: str, **kwargs) -> str:
    """``json.dump(obj)`` to ``path`` atomically (``kwargs`` go to ``json.dump``)."""
    with atomic_path(path) as tmp, open(tmp, 'w') as f:
        json.dump(obj, f, **kwargs)
    return path


def write_text(text: str, path: str) -> str:
    """``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, 'w') as f:
        f.write(text)
    return path


def remove_dead_temporaries(folder: str, targets: Optional[set] = None) -> List[str]:
    """Remove ``.<target>.<pid>.tmp`` files whose writer process is gone (only
    those of ``targets`` when given); returns their paths."""
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in sorted(os.listdir(folder)):
        m = _TMP.match(name)
        path = osp.join(folder, name)
        if not m or (targets is not None and m.group(1) not in targets):
            continue
        if osp.isfile(path) and not pid_alive(int(m.group(2))):
            try:
                os.remove(path)
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def check_output_path(dst: str, sources=(), force: bool = False) -> str:
    """Refuse an output ``dst`` that is one of ``sources`` (also through links) or
    that exists without ``force``; returns its absolute path."""
    dst_abs = osp.abspath(dst)
    if osp.isdir(dst_abs):
        raise ValueError(f'the output {dst} is a folder; give a file name')
    for src in sources:
        if osp.exists(src) and osp.exists(dst_abs) and osp.samefile(src, dst_abs) \
                or osp.realpath(src) == osp.realpath(dst_abs):
            raise ValueError(f'the output {dst} is the input {src}; give another output path')
    if osp.lexists(dst_abs) and not force:
        raise ValueError(f'the output {dst} exists; pass --force to replace it')
    return dst_abs
