"""tools/analysis/ablation.py and repeat_runs.py: every paper-table folder builds, the
ordering verdict and the rendered section, and a tiny table trained, tested and
resumed through the real tools."""
import json
import os
import os.path as osp

import pytest

from etad_mmaction.testing import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'configs', 'etad_tiny_synthetic.py')


@pytest.fixture(scope='module')
def ablation():
    return load_tool('analysis/ablation.py')


@pytest.fixture(scope='module')
def repeat_runs():
    return load_tool('analysis/repeat_runs.py')


@pytest.mark.slow  # builds every row's model (about 50)
def test_every_table_folder_builds(ablation):
    import etad_mmaction  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmaction.registry import MODELS
    DefaultScope.get_instance('test_ablation_tables', scope_name='mmaction')
    tables = sorted(t for t in os.listdir(ablation.CONFIGS)
                    if osp.isdir(osp.join(ablation.CONFIGS, t)))
    assert {'table5_dps', 'table5_egs', 'table8', 'table9', 'fig4a', 'fig4b'} <= set(tables)
    for table in tables:
        assert table in ablation.TABLES, f'{table}: no title/setting in ablation.TABLES'
        rows = ablation.table_rows(table)
        assert len({a['row'] for _, a in rows}) == len(rows), table
        for config, abl in rows:
            # a row's paper figures are its own, never inherited from the row it builds on
            with open(config) as f:
                assert ('paper' in abl) == ('paper=' in f.read()), config
            for key in ('same_as', 'checkpoint_of'):
                if key in abl:
                    src_table, src_row = abl[key].split('/')
                    assert osp.isfile(osp.join(ablation.CONFIGS, src_table, src_row + '.py'))
            if ablation.TABLES[table].get('kind') == 'test':
                assert 'checkpoint_of' in abl, config
            MODELS.build(Config.fromfile(config).model)   # a config error fails here


def _row(name, order, paper, values):
    runs = [dict(seed=i, metrics=dict(avg_mAP=v)) for i, v in enumerate(values)]
    return dict(row=name, order=order, paper=dict(avg_mAP=paper), runs=runs)


def test_summary_and_verdict(ablation, repeat_runs):
    a = _row('A', 1, 36.0, [0.50, 0.51, 0.52])
    b = _row('B', 2, 35.0, [0.40, 0.41, 0.42])   # kept, far beyond the spread
    c = _row('C', 3, 34.0, [0.51, 0.40, 0.60])   # above B: reversed, within the spread
    d = _row('D', 4, 34.0, [0.30, 0.30, 0.31])   # paper tie with C
    for r in (a, b, c, d):
        r['summary'] = repeat_runs.summarize(r['runs'])
    s = a['summary']['avg_mAP']
    assert (s['mean'], s['n']) == (pytest.approx(0.51), 3)
    assert s['std'] == pytest.approx(0.01)
    text = ablation.verdict(dict(rows=dict(a=a, b=b, c=c, d=d)))
    assert text.startswith('4 of 5 paper orderings kept')
    assert 'best row: paper A, ours A' in text
    assert 'kept beyond the seed spread: A > B' in text
    assert 'B > C (reversed, within the spread)' in text
    assert 'C = D: ours differ by 20.00 (beyond the spread)' in text
    assert ablation.verdict(dict(rows=dict(a=a))) == \
        'not enough rows with results to compare'
    # one seed per row: no spread to compare with
    one_a, one_b = _row('A', 1, 36.0, [0.50]), _row('B', 2, 35.0, [0.60])
    one_c = _row('C', 3, 34.0, [0.40])
    for r in (one_a, one_b, one_c):
        r['summary'] = repeat_runs.summarize(r['runs'])
    text = ablation.verdict(dict(rows=dict(a=one_a, b=one_b, c=one_c)))
    assert 'kept, spread unknown (1 seed): A > C, B > C' in text
    assert 'not kept: A > B (reversed, 1 seed: spread unknown)' in text


def test_render_markdown_puts_paper_beside_ours(ablation, repeat_runs):
    a = _row('1', 1, 35.25, [0.60, 0.62])
    a['paper']['memory_gb'] = 0.53
    a['summary'] = repeat_runs.summarize(a['runs'])
    a.update(time_median=1.5, cost=dict(peak_tensor_mb=12.5, params=1234567))
    b = dict(row='2', order=2, paper=dict(avg_mAP=35.81), runs=[])
    text = ablation.render_markdown(dict(table='table8', title='Table 8', rows=dict(a=a, b=b),
                                         verdict='v.', env=dict(date='2026-12-04')))
    assert text.startswith('### Table 8')
    assert '| 1 | 35.25 | 0.53 | 61.00 ± 1.41 (2) | 1.500 | 12.5 | 1,234,567 |' in text
    assert '| 2 | 35.81 | - | not run |' in text and 'Verdict: v.' in text


@pytest.mark.slow  # trainings and tests through the tools (subprocesses)
def test_tiny_table_trains_tests_and_resumes(ablation, tmp_path, monkeypatch):
    """Two training rows x one seed through tools/train.py, a test-time row on their
    checkpoints, the JSON, and a rerun that trains nothing."""
    data_root = str(tmp_path / 'data')
    configs = tmp_path / 'ablations'
    (configs / 'tiny').mkdir(parents=True)
    (configs / 'tiny_test').mkdir()
    common = (f"_base_ = [{TINY!r}]\n"
              f"common = dict(data_root={data_root!r})\n"
              "train_dataloader = dict(dataset=common)\nval_dataloader = dict(dataset=common)\n"
              "test_dataloader = val_dataloader\ntrain_cfg = dict(max_epochs=1)\n")
    for stages in (1, 2):
        (configs / 'tiny' / f'stages-{stages}.py').write_text(
            common + f"model = dict(roi_head=dict(num_stages={stages}, train_cfg=dict("
            f"stage_pos_iou_thrs={(0.7, 0.8)[:stages]!r})))\n"
            f"ablation = dict(row='{stages}', order={stages}, paper=dict(avg_mAP={stages}))\n")
    (configs / 'tiny_test' / 'grid-50.py').write_text(
        f"_base_ = [{str(configs / 'tiny' / 'stages-2.py')!r}]\n"
        "model = dict(roi_head=dict(test_proposal_sampler=dict(type='GridProposalSampler', "
        "ratio=0.5)))\n"
        "ablation = dict(row='50%', checkpoint_of='tiny/stages-2', paper=dict(avg_mAP=1))\n")
    monkeypatch.setattr(ablation, 'CONFIGS', str(configs))
    monkeypatch.setitem(ablation.TABLES, 'tiny', dict(title='Tiny'))
    monkeypatch.setitem(ablation.TABLES, 'tiny_test', dict(title='Tiny test', kind='test'))
    work, out = str(tmp_path / 'work'), str(tmp_path / 'tiny.json')
    result = ablation.run_table('tiny', [0], 1, work_root=work, out=out)
    assert json.load(open(out)) == result
    for name in ('stages-1', 'stages-2'):
        row = result['rows'][name]
        assert 0.0 <= row['summary']['avg_mAP']['mean'] <= 1.0
        assert row['runs'][0]['iters'] == 8 and row['cost']['peak_tensor_mb'] > 0
    assert result['rows']['stages-2']['cost']['params'] > \
        result['rows']['stages-1']['cost']['params']
    assert 'paper orderings kept' in result['verdict']
    done = osp.join(work, 'tiny', 'stages-1_s0', 'repeat_run.json')
    stamp = os.stat(done).st_mtime_ns
    again = ablation.run_table('tiny', [0], 1, work_root=work, out=out)
    assert os.stat(done).st_mtime_ns == stamp          # reused, not retrained
    assert again['rows'] == result['rows']
    # --refresh re-derives verdict, summaries and a missing cost without training
    stale = json.load(open(out))
    stale['verdict'] = 'stale'
    del stale['rows']['stages-1']['cost'], stale['rows']['stages-2']['summary']
    json.dump(stale, open(out, 'w'))
    fresh = ablation.refresh_table('tiny', out)
    assert os.stat(done).st_mtime_ns == stamp
    assert fresh['verdict'] == result['verdict']
    assert fresh['rows']['stages-2']['summary'] == result['rows']['stages-2']['summary']
    assert fresh['rows']['stages-1']['cost']['params'] == \
        result['rows']['stages-1']['cost']['params']
    tested = ablation.run_table('tiny_test', [0], 1, work_root=work,
                                out=str(tmp_path / 'tiny_test.json'))
    run = tested['rows']['grid-50']['runs'][0]
    assert run['videos'] == 8 and run['s_per_video'] > 0
    assert 0.0 <= run['metrics']['avg_mAP'] <= 1.0
    assert '| 50% | 1 |' in ablation.render_markdown(tested)
    with pytest.raises(SystemExit, match='unknown row'):
        ablation.run_table('tiny', [0], 1, rows=['stages-9'], work_root=work, out=out)


def test_delta_verdict_against_a_reference_row(ablation, repeat_runs):
    ref = _row('paper text', 0, None, [0.50, 0.52, 0.51])
    far = _row('negatives', 1, None, [0.40, 0.41, 0.42])
    near = _row('init', 2, None, [0.50, 0.53, 0.52])
    for r in (ref, far, near):
        r['summary'] = repeat_runs.summarize(r['runs'])
    text = ablation.verdict(dict(reference_row='paper', rows=dict(paper=ref, negatives=far,
                                                                   init=near)))
    assert text == ('avg mAP against paper text: negatives -10.00, '
                    'init +0.67 (within the spread).')


def test_a_failed_run_is_recorded_not_fatal(ablation, tmp_path, monkeypatch):
    """A run that stops (e.g. a non-finite loss) is recorded with its reason, the
    other runs go on, the summary counts only finished runs and the rendered row
    names the failure."""
    import importlib
    rr = importlib.import_module('repeat_runs')     # the module run_table imports
    configs = tmp_path / 'ablations'
    (configs / 'fails').mkdir(parents=True)
    (configs / 'fails' / 'row.py').write_text(
        f"_base_ = [{TINY!r}]\nablation = dict(row='r', order=0)\n")
    monkeypatch.setattr(ablation, 'CONFIGS', str(configs))
    monkeypatch.setitem(ablation.TABLES, 'fails', dict(title='Fails'))

    def fake_train_once(config, work_dir, seed, *a, **k):
        if seed == 1:
            raise RuntimeError('tools/train.py ... exited 1:\nTraceback (most recent call '
                               'last):\n    raise FloatingPointError(\nFloatingPointError: '
                               'non-finite loss at iteration 3 (epoch 1, batch 3)')
        return dict(seed=seed, metrics=dict(avg_mAP=0.5 + seed / 100), s_per_iter=1.0)

    monkeypatch.setattr(rr, 'train_once', fake_train_once)
    out = str(tmp_path / 'fails.json')
    result = ablation.run_table('fails', [0, 1, 2], 1, work_root=str(tmp_path / 'w'),
                                out=out, cost=False)
    runs = result['rows']['row']['runs']
    assert [r['seed'] for r in runs] == [0, 1, 2]
    assert runs[1]['failed'] == ('FloatingPointError: non-finite loss at iteration 3 '
                                 '(epoch 1, batch 3)') and runs[1]['metrics'] == {}
    assert result['rows']['row']['summary']['avg_mAP']['n'] == 2
    assert '1 of 3 runs failed (seed 1: FloatingPointError' in ablation.render_markdown(result)
