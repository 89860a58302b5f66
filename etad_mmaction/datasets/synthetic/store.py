"""Writing a generated dataset folder: atomically (built next to the root and renamed
into place), once across processes (a file lock), and never over a folder that no
generator of this package made (its ``meta.json`` names the generator)."""
import contextlib
import json
import logging
import os
import os.path as osp
import shutil
import tempfile
import time
from typing import Callable, Optional

from ...fileio import pid_alive

META_FILE = 'meta.json'
#: ``meta.json['generator']`` of the folders that ``overwrite`` may replace
GENERATORS = ('etad_mmaction.datasets.synthetic', 'etad_mmaction.datasets.synthetic_video')


def read_meta(root: str) -> Optional[dict]:
    """``meta.json`` of a generated dataset, or None if ``root`` has none."""
    path = osp.join(root, META_FILE)
    if not osp.isfile(path):
        return None
    with open(path, 'r', encoding='utf-8') as f:
        return json.load(f)


def _check_replaceable(root: str) -> None:
    meta = read_meta(root) if osp.isdir(root) else None
    if not isinstance(meta, dict) or meta.get('generator') not in GENERATORS:
        raise FileExistsError(
            f'{root} exists and is not a dataset this generator made (no {META_FILE} naming '
            f'one of {list(GENERATORS)}); refusing to replace it: remove it yourself or '
            'choose another root')


def _remove_dead_leftovers(parent: str, base: str) -> None:
    """Remove ``.<base>.tmp-<pid>-*`` / ``.<base>.old-<pid>-*`` folders of generator
    processes that died (killed runs); a live generator's folder is kept."""
    for name in os.listdir(parent):
        for kind in ('tmp', 'old'):
            prefix = f'.{base}.{kind}-'
            if not name.startswith(prefix):
                continue
            pid = name[len(prefix):].split('-', 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(osp.join(parent, name), ignore_errors=True)


def write_dataset(root: str, build: Callable[[str], None], overwrite: bool = False) -> str:
    """Run ``build(tmp)`` in a fresh folder next to ``root`` (it writes ``meta.json``
    last) and rename it to ``root``. An existing ``root`` raises ``FileExistsError``
    unless ``overwrite`` and it is a generated dataset (:data:`GENERATORS`); an
    interrupted run leaves nothing at ``root``. Returns the absolute root."""
    root = osp.abspath(root)
    if osp.lexists(root):
        if not overwrite:
            raise FileExistsError(f'{root} already exists; pass overwrite=True (--overwrite) '
                                  'to replace it')
        _check_replaceable(root)
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    _remove_dead_leftovers(parent, osp.basename(root))
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-{os.getpid()}-', dir=parent)
    try:
        build(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)         # mkdtemp makes 0700; keep the user's umask
        if osp.lexists(root):
            if not overwrite:
                raise FileExistsError(f'{root} appeared while generating; not replaced')
            _check_replaceable(root)
            old = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.old-{os.getpid()}-',
                                   dir=parent)
            os.rename(root, osp.join(old, 'data'))
            os.rename(tmp, root)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.rename(tmp, root)
            except OSError as err:  # lost a race: root appeared (ENOTEMPTY / EEXIST)
                if osp.exists(root):
                    raise FileExistsError(f'{root} appeared while generating; '
                                          'not replaced') from err
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


@contextlib.contextmanager
def file_lock(path: str, timeout: float = 3600.0):
    """Exclusive inter-process lock on ``path`` (POSIX ``flock``; a no-op where
    unavailable, the atomic rename still protects the dataset)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path, 'a+') as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f'waited {timeout:.0f} s for the lock {path}')
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def ensure_dataset(root: str, check: Callable[[str, dict], None],
                   generate: Callable[[str], object], what: str) -> str:
    """``root`` if it holds a generated dataset (``check(root, meta)`` raises when its
    parameters differ), else ``generate(root)`` under ``<root>.lock`` so that one of
    several processes generates while the others wait. Generating logs the absolute
    path and why (relative roots are relative to the working directory)."""
    given, root = root, osp.abspath(root)
    meta = read_meta(root)
    if meta is None:
        os.makedirs(osp.dirname(root), exist_ok=True)
        with file_lock(root + '.lock'):
            meta = read_meta(root)
            if meta is None:
                if osp.lexists(root):
                    raise FileExistsError(f'{root} exists but is not a {what} (no '
                                          f'{META_FILE}); remove it or choose another '
                                          'data_root')
                _log_generation(given, root, what)
                try:
                    generate(root)
                    return root
                except FileExistsError:
                    meta = read_meta(root)  # another machine won the rename race
                    if meta is None:
                        raise
    check(root, meta)
    return root


def _log_generation(given: str, root: str, what: str) -> None:
    from mmengine.logging import print_log
    msg, level = f'generating a {what} at {root} (nothing there yet)', logging.INFO
    if not osp.isabs(given):
        level = logging.WARNING
        msg += (f': data_root {given!r} is relative to the working directory {os.getcwd()}; '
                'run from the folder that holds your data/ (e.g. the checkout) or pass an '
                'absolute data_root to reuse a dataset generated elsewhere')
    print_log(msg, logger='current', level=level)
