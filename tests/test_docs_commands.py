"""The shell commands of README.md and docs/ as a user would copy them: the files they
name exist, the tools accept their options, a bare `python` comes after the page says
how to activate the environment, and the mim recipe installs what the mim test uses."""
import glob
import importlib.util
import os.path as osp
import re
import shlex
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGES = ['README.md'] + sorted(osp.relpath(p, ROOT)
                               for p in glob.glob(osp.join(ROOT, 'docs', '*.md')))
# pages of this project's own quick start: bare `python` only after the activation line
ACTIVATED = ['README.md', 'docs/getting_started.md', 'docs/configs.md', 'docs/end_to_end.md']
TOOLS = {'tools/train.py', 'tools/test.py', 'tools/demo.py', 'tools/analysis/post_process.py'}


def page_commands(page):
    """(command, text before it) for every command in the page's bash blocks."""
    with open(osp.join(ROOT, page), encoding='utf-8') as f:
        text = f.read()
    out = []
    for m in re.finditer(r'```bash\n(.*?)```', text, re.S):
        block = m.group(1).replace('\\\n', ' ')
        for line in block.splitlines():
            line = re.sub(r'\s+#.*$', '', line).strip()
            if not line or line.startswith('#'):
                continue
            for cmd in line.split('&&'):
                out.append((cmd.strip(), text[:m.start()]))
    return out


ALL = [(page, cmd, before) for page in PAGES for cmd, before in page_commands(page)]


def words(cmd):
    w = shlex.split(cmd)
    while w and re.match(r'^[A-Z_]+=', w[0]):  # leading VAR=value
        w = w[1:]
    return w


def test_pages_have_commands():
    assert {p for p, _, _ in ALL} >= {'README.md', 'docs/getting_started.md'}


@pytest.mark.parametrize('page,cmd', [(p, c) for p, c, _ in ALL])
def test_named_files_exist(page, cmd):
    for path in re.findall(r'(?:^|[\s=])((?:configs|tools)/[\w./-]+\.(?:py|sh))', cmd):
        if path.split('/')[-1].isupper() or 'CONFIG' in path:
            continue
        assert osp.isfile(osp.join(ROOT, path)), f'{page}: {cmd}'


def load_tool(path):
    spec = importlib.util.spec_from_file_location('doc_tool_' + osp.basename(path)[:-3],
                                                  osp.join(ROOT, path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize('page,cmd', [(p, c) for p, c, _ in ALL
                                      if any(t in c for t in TOOLS) and 'python' in c])
def test_tool_options_parse(page, cmd, monkeypatch):
    w = words(cmd)
    i = next(k for k, x in enumerate(w) if x in TOOLS)
    mod = load_tool(w[i])
    monkeypatch.setattr(sys, 'argv', w[i:])
    mod.parse_args()  # argparse exits (SystemExit) on an unknown option


@pytest.mark.parametrize('page', ACTIVATED)
def test_bare_python_follows_activation(page):
    for cmd, before in page_commands(page):
        w = words(cmd)
        if w and w[0] == 'python' or w[:2] == ['bash', 'tools/dist_train.sh']:
            assert '. .venv/bin/activate' in before or 'source .venv/bin/activate' in before, \
                f'{page}: `{cmd}` runs before the page says how to activate .venv'


def test_pip_extras_exist():
    with open(osp.join(ROOT, 'pyproject.toml')) as f:
        extras = set(re.findall(r'^(\w+) = \[', f.read(), re.M))
    for page, cmd, _ in ALL:
        for group in re.findall(r'-e "\.\[([\w,]+)\]"', cmd):
            assert set(group.split(',')) <= extras, f'{page}: {cmd}'


def test_mim_recipe_matches_the_mim_test(mim_packages):
    cmds = [c for p, c, _ in ALL if '--target .venv-mim' in c]
    assert cmds
    for cmd in cmds:
        w = words(cmd)
        packages = w[w.index('.venv-mim') + 1:]
        assert packages == mim_packages
