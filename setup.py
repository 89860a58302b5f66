"""Build hook: create ``etad_mmaction/.mim`` (configs, tools and the model index that
``mim search etad_mmaction`` reads) like OpenMMLab packages.

``mim train etad_mmaction CONFIG`` looks for ``<package>/.mim/tools/train.py`` and
``<package>/.mim/configs`` beside the installed module. Editable installs get
symlinks (edits show up at once); regular builds get copies that are packaged
as package data. All metadata lives in pyproject.toml.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import setup

HERE = osp.dirname(osp.abspath(__file__))


def add_mim_extension():
    editable = any(cmd in sys.argv for cmd in ('develop', 'editable_wheel'))
    mim_dir = osp.join(HERE, 'etad_mmaction', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src = osp.join(HERE, name)
        dst = osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel', 'bdist_wheel', 'build', 'sdist',
                                   'build_py', 'install')):
    add_mim_extension()

setup()
