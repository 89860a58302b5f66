"""PEP 517 backend: setuptools, plus what ``mim`` needs from an editable install.

``mim train etad_mmaction CONFIG`` locates the package with
``pkg_resources.get_distribution('etad_mmaction').location`` and expects
``<location>/etad_mmaction/.mim/{configs,tools}``. setup.py creates ``.mim``
(copies for wheels, symlinks in the checkout for editable installs). A PEP 660
editable install puts its ``.dist-info`` in site-packages, so that ``location``
is site-packages, where the package does not live. For editable installs this
backend therefore also prepares ``build/etad_editable/`` in the checkout: a
symlink ``etad_mmaction`` to the package and an ``etad_mmaction.egg-info`` with
its name and version, and the editable wheel carries a ``.pth`` that puts that
folder on ``sys.path`` just before site-packages (it holds nothing else, so it
shadows nothing). pkg_resources then reports the checkout's package, as it did
for ``setup.py develop``. Regular wheels are unchanged.

Kept because MMAction2's own way (``setup.py``'s ``add_mim_extension`` alone, which this
project's setup.py mirrors) relies on ``setup.py develop``, which current pip no longer
runs; remove this backend once a released openmim locates packages by importing them
(its main branch does: ``module.__path__``). See docs/faq.md.
"""
import base64
import hashlib
import os
import zipfile

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    return f'{name},sha256={digest},{len(data)}'


def _add_to_wheel(wheel_path: str, name: str, data: bytes) -> None:
    tmp = wheel_path + '.tmp'
    with zipfile.ZipFile(wheel_path) as src, zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename.endswith('.dist-info/RECORD'):
                lines = content.decode().rstrip('\n').split('\n')
                lines.insert(len(lines) - 1, _record_line(name, data))
                content = ('\n'.join(lines) + '\n').encode()
            dst.writestr(item, content)
        dst.writestr(name, data)
    os.replace(tmp, wheel_path)


def _version() -> str:
    scope = {}
    with open(os.path.join(ROOT, 'etad_mmaction', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def _prepare_mim_dir() -> str:
    link_dir = os.path.join(ROOT, 'build', 'etad_editable')
    os.makedirs(os.path.join(link_dir, 'etad_mmaction.egg-info'), exist_ok=True)
    link = os.path.join(link_dir, 'etad_mmaction')
    if os.path.islink(link) or os.path.exists(link):
        os.remove(link)
    os.symlink(os.path.join(ROOT, 'etad_mmaction'), link)
    with open(os.path.join(link_dir, 'etad_mmaction.egg-info', 'PKG-INFO'), 'w') as f:
        f.write(f'Metadata-Version: 2.1\nName: etad-mmaction\nVersion: {_version()}\n')
    return link_dir


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    link_dir = _prepare_mim_dir()
    pth = ('import sys; p = %r; i = next((k for k, e in enumerate(sys.path) '
           "if e.endswith('-packages')), len(sys.path)); "
           'p in sys.path or sys.path.insert(i, p)\n' % link_dir)
    _add_to_wheel(os.path.join(wheel_directory, name), 'etad_mmaction_mim.pth', pth.encode())
    return name
