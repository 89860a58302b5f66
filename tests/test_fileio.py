"""Output paths that would destroy an input or an existing file (issue 24, case 8):
``check_output_path`` and the converters that use it."""
import os

import pytest
import torch

from etad_mmaction.fileio import OutputPathError, check_output_path
from etad_mmaction.testing import load_tool


def test_output_path_rules(tmp_path):
    src = tmp_path / 'src.pth'
    src.write_bytes(b'weights')
    (tmp_path / 'link.pth').symlink_to(src)
    os.link(src, tmp_path / 'hard.pth')
    for dst in (src, tmp_path / 'link.pth', tmp_path / 'hard.pth',
                tmp_path / 'sub' / '..' / 'src.pth'):
        with pytest.raises(OutputPathError, match='would destroy the input'):
            check_output_path(str(dst), sources=[str(src)], force=True)
    # a link to the destination as the source
    with pytest.raises(OutputPathError, match='is the input'):
        check_output_path(str(src), sources=[str(tmp_path / 'link.pth')], force=True)
    other = tmp_path / 'other.pth'
    other.write_bytes(b'user file')
    with pytest.raises(OutputPathError, match='exists; pass --force'):
        check_output_path(str(other), sources=[str(src)])
    assert check_output_path(str(other), sources=[str(src)], force=True) == str(other)
    with pytest.raises(OutputPathError, match='is a folder'):
        check_output_path(str(tmp_path), force=True)
    assert check_output_path(str(tmp_path / 'new.pth'), [str(src)]) == str(tmp_path / 'new.pth')


@pytest.mark.parametrize('tool', ['convert_official_etad.py', 'convert_tsp_r2plus1d.py'])
def test_converters_never_overwrite_the_source_or_a_file(tool, tmp_path):
    cli = load_tool(f'model_converters/{tool}')
    src = tmp_path / 'epoch_5.pth.tar'
    torch.save({'state_dict': {'x': torch.ones(1)}}, src)
    before = src.read_bytes()
    (tmp_path / 'alias.pth').symlink_to(src)
    for dst in (src, tmp_path / 'alias.pth'):
        with pytest.raises(SystemExit, match='would destroy the input'):
            cli.main([str(src), str(dst), '--force'])
    existing = tmp_path / 'mine.pth'
    existing.write_bytes(b'keep me')
    with pytest.raises(SystemExit, match='mine.pth exists; pass --force'):
        cli.main([str(src), str(existing)])
    assert src.read_bytes() == before and existing.read_bytes() == b'keep me'


def test_official_converter_checks_the_output_once(tmp_path, monkeypatch):
    import etad_mmaction.fileio as fileio
    calls = []
    real = fileio.check_output_path
    monkeypatch.setattr(fileio, 'check_output_path',
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    src = tmp_path / 'bad.pth'
    torch.save([1, 2], src)
    with pytest.raises(SystemExit, match='holds no state dict'):
        load_tool('model_converters/convert_official_etad.py').main(
            [str(src), str(tmp_path / 'out.pth')])
    assert len(calls) == 1
