"""etad_mmaction.testing.load_tool finds the tools of a checkout, of $ETAD_MMACTION_TOOLS
or of the package's .mim, in that order; no test module imports another by name."""
import glob
import os.path as osp
import re

import pytest

from etad_mmaction import testing

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tree(root, *files):
    for f in files:
        path = root / f
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('')
    return root


def test_installed_without_mim_names_every_place(tmp_path, monkeypatch):
    """The failure of issue 26 (package installed elsewhere, no .mim): a named error."""
    monkeypatch.delenv(testing.TOOLS_ENV, raising=False)
    pkg = _tree(tmp_path / 'site' / 'etad_mmaction', '__init__.py')
    with pytest.raises(FileNotFoundError, match=r'no tool test\.py under .*\.mim.*'
                       + testing.TOOLS_ENV):
        testing.tool_path('test.py', str(pkg))


def test_checkout_tools_before_mim(tmp_path, monkeypatch):
    monkeypatch.delenv(testing.TOOLS_ENV, raising=False)
    _tree(tmp_path, 'pyproject.toml', 'tools/test.py', 'etad_mmaction/.mim/tools/test.py')
    pkg = str(tmp_path / 'etad_mmaction')
    assert testing.tool_path('test.py', pkg) == str(tmp_path / 'tools' / 'test.py')
    (tmp_path / 'pyproject.toml').unlink()   # not a checkout: the shipped copy
    assert testing.tool_path('test.py', pkg) == str(
        tmp_path / 'etad_mmaction' / '.mim' / 'tools' / 'test.py')


def test_environment_variable_comes_first(tmp_path, monkeypatch):
    _tree(tmp_path, 'pyproject.toml', 'tools/test.py', 'other/test.py')
    monkeypatch.setenv(testing.TOOLS_ENV, str(tmp_path / 'other'))
    assert testing.tool_path('test.py', str(tmp_path / 'etad_mmaction')) == str(
        tmp_path / 'other' / 'test.py')


def test_the_suite_loads_this_checkouts_tools():
    assert testing.load_tool('train.py').__file__ == osp.join(REPO_ROOT, 'tools', 'train.py')


def test_no_test_module_imports_another():
    bad = []
    for path in glob.glob(osp.join(REPO_ROOT, 'tests', '**', '*.py'), recursive=True):
        with open(path) as f:
            bad += [f'{path}: {m}' for m in re.findall(r'^\s*(?:from|import) test_\w+', f.read(),
                                                       re.M)]
    assert not bad, bad
