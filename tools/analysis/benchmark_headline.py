"""The table that opens docs/benchmarks.md: the headline figures, each with its date,
machine, code and section, and marked stale when the code it measured changed since.

A figure is stale when ``git diff <its commit> HEAD`` touches its measured code
(:data:`MEASURED`), or, for results that predate recorded commits, when that code has a
commit dated after the measurement. Without git the state is "unknown".
"""
import json
import os.path as osp
import re
import subprocess

import benchmark as B

MODEL = ('etad_mmaction/models', 'configs/_base_/models')
MEASURED = dict(detector=MODEL, dps=MODEL, egs=('etad_mmaction/models',),
                train_step=MODEL + ('etad_mmaction/engine',),
                map_comparison=MODEL + ('etad_mmaction/evaluation', 'etad_mmaction/datasets'),
                preset_comparison=MODEL + ('etad_mmaction/evaluation', 'etad_mmaction/datasets'),
                inference=MODEL, ablation=MODEL + ('etad_mmaction/evaluation',
                                                   'etad_mmaction/datasets', 'configs'))


def _git(*args):
    out = subprocess.run(['git', *args], cwd=B.ROOT, capture_output=True, text=True)
    return out.returncode, out.stdout.strip()


def code_state(env: dict, paths) -> str:
    """``<commit>``, ``<commit>, stale`` or ``<date>: not recorded, stale``."""
    commit = (env.get('commit') or '').split('+')[0]
    try:
        if commit:
            rc, diff = _git('diff', '--name-only', commit, 'HEAD', '--', *paths)
            return f'{commit}, **stale**' if rc == 0 and diff else (
                commit if rc == 0 else f'{commit} (unknown here)')
        rc, last = _git('log', '-1', '--format=%cs', 'HEAD', '--', *paths)
    except OSError:
        return env.get('commit') or 'unknown'
    if rc != 0 or not last:
        return 'not recorded'
    return f'not recorded, **stale** (code changed {last})' if env.get('date', '') < last \
        else 'not recorded'


def _machine(env: dict) -> str:
    return env.get('gpu') or f"CPU, {env.get('cores', '?')} cores"


def _rows(results: dict):
    """(figure, value, result name) of each headline figure whose result exists."""
    for dev, where in (('cpu', 'CPU'), ('cuda', 'GPU')):
        d = results.get(f'detector_{dev}')
        if d:
            yield (f'training step and peak memory, ETAD (DPS 6%) vs stock BMN ({where})',
                   f"{d['etad_step_s']:.2f} vs {d['bmn_step_s']:.2f} s "
                   f"({d['bmn_over_etad_step']:.1f}x faster); {d['etad_peak_mb']:,.0f} vs "
                   f"{d['bmn_peak_mb']:,.0f} MB ({d['etad_over_bmn_peak']:.2f}x)",
                   f'detector_{dev}')
        t = results.get(f'train_step_{dev}')
        if t and t.get('modes'):
            ok = {k: r for k, r in t['modes'].items() if 'step_ms' in r}
            best = min(ok, key=lambda k: ok[k]['step_ms']) if ok else None
            bmn = t.get('bmn') or {}
            value = (f"eager {ok['eager']['step_ms']:.1f} ms, fastest {best} "
                     f"{ok[best]['step_ms']:.1f} ms" if 'eager' in ok else '-')
            if 'step_ms' in bmn:
                value += f"; stock BMN {bmn['step_ms']:.1f} ms"
            yield f'training step, eager vs compiled ({where})', value, f'train_step_{dev}'
        if d:
            yield (f'DPS 6% vs 100%: step time, peak memory ({where})',
                   f"{d['dps6_over_100_step']:.2f}x, {d['dps6_over_100_peak']:.2f}x",
                   f'detector_{dev}')
            yield (f'inference per video, ETAD vs BMN ({where})',
                   f"{1e3 * d['etad_infer_s_per_video']:.0f} vs "
                   f"{1e3 * d['bmn_infer_s_per_video']:.0f} ms", f'detector_{dev}')
    t = results.get('train_step_vs_bmn_cpu')
    if t and t.get('etad_over_bmn_cpu_step') is not None:
        yield (f"training step CPU time and peak memory, ETAD (DPS 6%) / stock BMN, batch "
               f"{t['batch']}, {t['env'].get('threads')} thread (CPU)",
               f"{t['etad_over_bmn_cpu_step']:.3f}x time, {t['etad_over_bmn_peak']:.3f}x "
               f"memory", 'train_step_vs_bmn_cpu')
        for name, r in t.get('variants', {}).items():
            if 'over_bmn_cpu_step' in r:
                same = (f"; against BMN under the same autocast "
                        f"{r['over_bmn_autocast_cpu_step']:.3f}x time"
                        if 'over_bmn_autocast_cpu_step' in r else '')
                yield (f"the same with the inexact option {name} (off by default)",
                       f"{r['over_bmn_cpu_step']:.3f}x time, "
                       f"{r.get('over_bmn_peak', float('nan')):.3f}x memory{same}",
                       'train_step_vs_bmn_cpu')
    for dev, where in (('cpu', 'CPU'), ('cuda', 'GPU')):
        i = results.get(f'inference_{dev}')
        if i:
            yield (f'inference per video of a trained checkpoint, T = {i["num_snippets"]} '
                   f'({where})', '; '.join(
                       f"batch {b}: {r.get('cpu_ms_per_video', r['ms_per_video']):.0f} ms"
                       + (' CPU time' if 'cpu_ms_per_video' in r else '')
                       for b, r in i['batches'].items()), f'inference_{dev}')
    for name in ('egs_cuda', 'egs_cpu'):
        e = results.get(name)
        if e:
            peak = {(r['mode'], r['ratio']): r['peak_mb'] for r in e['runs']
                    if r['chunk'] == e['chunk'] and 'peak_mb' in r}
            yield (f"EGS peak memory at 30%, {e['backbone']} ({name[4:].upper()})",
                   f"single pass {peak.get(('single_pass', 0.3), 0):,.0f} MB, injection "
                   f"{peak.get(('injection', 0.3), 0):,.0f} MB; 100% "
                   f"{peak.get(('single_pass', 1.0), 0):,.0f} MB, frozen "
                   f"{peak.get(('frozen (ratio 0)', 0.0), 0):,.0f} MB", name)
    m = results.get('map_comparison_cuda')
    if m:
        yield ('average mAP, ETAD vs BMN on the same semi-synthetic videos',
               f"{B.pct(m['etad']['avg_mAP'])} vs {B.pct(m['bmn']['avg_mAP'])} "
               f"({100 * m['etad_minus_bmn_avg_map']:+.2f}); BMN trains "
               f"{m['bmn_over_etad_train_time']:.1f}x longer", 'map_comparison_cuda')
    for name in sorted(n for n in results if n.startswith('ablation_')):
        a = results[name]
        yield (f"ablation {a['table']}: {a.get('title', '')}", a.get('verdict', 'not run'),
               name)
    p = results.get('preset_comparison_cpu')
    if p:
        yield ('average mAP of the two presets (semi-synthetic)',
               '; '.join(f"{k} {B.pct(r['avg_mAP_mean'])} +- {B.pct(r['avg_mAP_std'])}"
                         for k, r in p['presets'].items()), 'preset_comparison_cpu')


def slugs(markdown: str) -> dict:
    """GitHub's anchor of every heading: ``{title: anchor}`` (first of duplicates)."""
    out, seen = {}, {}
    for line in markdown.splitlines():
        if line.startswith('#'):
            title = line.lstrip('#').strip()
            slug = re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.setdefault(title, slug if n == 0 else f'{slug}-{n}')
    return out


def headline(json_dir: str, titles: dict, body: str) -> str:
    """The opening table; ``titles``: result name -> its section's title in ``body``."""
    results = {}
    for name in titles:
        with open(osp.join(json_dir, name + '.json')) as f:
            results[name] = json.load(f)
    anchors = slugs(body)
    lines = ['## At a glance', '',
             'The headline figures; details, commands and notes in the linked sections. '
             '**stale**: the code these figures measured has changed since (see '
             '`tools/analysis/benchmark_headline.py`); re-measure before quoting them.', '',
             '| figure | value | measured | machine | code | section |',
             '|---|---|---|---|---|---|']
    for figure, value, name in _rows(results):
        env = results[name].get('env') or {}
        kind = next((k for k in MEASURED if name.startswith(k)), 'detector')
        title = titles[name]
        lines.append(f"| {figure} | {value} | {env.get('date', '?')} | {_machine(env)} | "
                     f"{code_state(env, MEASURED[kind])} | [{title}](#{anchors.get(title)}) |")
    return '\n'.join(lines + [''])
