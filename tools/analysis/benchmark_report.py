"""Regenerate docs/benchmarks.md from the JSON results under docs/benchmarks/.

    python tools/analysis/benchmark_report.py [--json-dir DIR] [--out FILE]

Each result is rendered by the ``render`` of the script that writes it (by file name,
:data:`RENDERERS`); results of unknown scripts are shown as JSON. After them: the EGS
and DPS figures, ``manual.md`` and one section per ``ablation_*.json`` (rendered by
``ablation.py``'s ``render_markdown``). The page opens with the headline figures
(``benchmark_headline.py``: date, machine, code, stale or not, link to the section).
"""
import argparse
import importlib
import json
import os.path as osp
import sys
from glob import glob

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as B  # noqa: E402 (sibling module)


def _train_step(d: dict) -> str:
    """Eager vs compiled training step (tools/analysis/train_step_benchmark.py)."""
    dev = d['env']['device'].upper()
    what = 'eager vs compiled' if len(d['modes']) > 1 else 'vs stock BMN'
    lines = B.head(f'Training step {what} ({dev})', d) + [
        f"`{d['config']}`{' with ' + str(d['cfg_options']) if d.get('cfg_options') else ''}"
        f", batch {d['batch']}, T = {d['num_snippets']}, random features; median of "
        f"{d['steps']} AdamW steps after {d['warmup']} warm-up (compiling) steps. "
        "Compiled modes compile `ETAD.loss_tensors` (one graph, `tools/train.py "
        "--compile MODE`); memory is `torch.cuda.max_memory_allocated` on a GPU and the "
        "peak RSS of a fresh process per model on the CPU; on the CPU the CPU time per "
        "step is shown beside the wall time (robust to a busy machine).", '',
        '| mode | step (ms) | CPU time per step (ms) | / eager | peak memory (MB) | '
        'inference per video (ms) |', '|---|---|---|---|---|---|']
    variants = [(f"{name} ({', '.join(f'{k}={v}' for k, v in r['cfg_options'].items())})", r)
                for name, r in d.get('variants', {}).items()]
    rows = list(d['modes'].items()) + variants + ([('stock BMN (MMAction2)', d['bmn'])]
                                                  if d.get('bmn') else [])
    if d.get('bmn_autocast'):
        rows.append((f"stock BMN (MMAction2), autocast={d['bmn_autocast']['autocast']}",
                     d['bmn_autocast']))
    for name, r in rows:
        if 'error' in r:
            lines.append(f"| {name} | {r['error']} | | | | |")
            continue
        peak = f"{r['peak_mb']:.0f}" if r.get('peak_mb') is not None else 'n/a'
        inf = (f"{r['inference_ms_per_video']:.1f}" if r.get('inference_ms_per_video')
               else '')
        cpu = f"{r['cpu_step_ms']:.1f}" if r.get('cpu_step_ms') is not None else ''
        lines.append(f"| {name} | {r['step_ms']:.1f} | {cpu} | {r.get('vs_eager', 1.0):.2f} | "
                     f"{peak} | {inf} |")
    if d.get('etad_over_bmn_cpu_step') is not None:
        lines += ['', f"ETAD / BMN (same run, {d['env'].get('threads')} thread): CPU time per "
                  f"step {d['etad_over_bmn_cpu_step']:.3f}x, wall {d['etad_over_bmn_step']:.3f}x, "
                  f"peak memory {d['etad_over_bmn_peak']:.3f}x."]
        lines += [f"{name} / BMN: CPU time per step {r['over_bmn_cpu_step']:.3f}x, wall "
                  f"{r['over_bmn_step']:.3f}x, peak memory "
                  f"{r.get('over_bmn_peak', float('nan')):.3f}x (an inexact option, off by "
                  "default)." for name, r in d.get('variants', {}).items()
                  if 'over_bmn_cpu_step' in r]
        lines += [f"{name} / BMN under the same autocast: CPU time per step "
                  f"{r['over_bmn_autocast_cpu_step']:.3f}x, wall "
                  f"{r['over_bmn_autocast_step']:.3f}x, peak memory "
                  f"{r.get('over_bmn_autocast_peak', float('nan')):.3f}x."
                  for name, r in d.get('variants', {}).items()
                  if 'over_bmn_autocast_step' in r]
    return '\n'.join(lines + [''])

def _epoch(d: dict) -> str:
    """A full ActivityNet-size epoch (tools/analysis/epoch_benchmark.py)."""
    dev = d['env']['device'].upper()
    data = d['data']
    lines = B.head(f'ActivityNet-size data: loader and training epoch ({dev})', d) + [
        f"{data['params']['videos']:,} videos of {data['params']['dim']}-d random features "
        f"at TSP-like lengths (mean {data['mean_length']:.0f} per video, "
        f"{data['gigabytes']:.1f} GB), `{d['config']}` through the stock Runner"
        + (f", compiled ({d['compile']})" if d.get('compile') else '') + '.', '']
    if d.get('loader'):
        ld = d['loader']
        lines.append(f"- dataloader alone: {ld['videos_per_s']:.0f} videos/s "
                     f"({ld['videos']:,} videos, {ld['workers']} workers, batch "
                     f"{ld['batch_size']})")
    if d.get('train'):
        tr = d['train']
        lines.append(f"- training: {tr['videos_per_s']:.1f} videos/s after the first "
                     f"iteration ({tr['iterations']} iterations, first "
                     f"{tr['first_iter_s']:.1f} s), {tr['videos']:,} videos in "
                     f"{tr['epoch_s']:.0f} s; projected {tr['config_epochs']} epochs of "
                     f"{tr.get('projected_videos', tr['videos']):,} videos: "
                     f"{tr['projected_config_epochs_s'] / 60:.1f} min")
    return '\n'.join(lines + [''])


def _generic(name: str, d: dict) -> str:
    lines = [f'### {name}', '']
    if 'command' in d:
        lines.append(f"Command: `{d['command']}`  ")
    if 'env' in d:
        lines.append(f"Machine: {B.env_line(d['env'])}")
    lines += ['', '```json', json.dumps({k: v for k, v in d.items() if k not in ('env',)},
                                        indent=2), '```', '']
    return '\n'.join(lines)


HEADER = """# Benchmarks

Every figure on this page was measured by the command printed with it, on the
machine named with it; ratios compare numbers measured in the same run. The JSON
files under `docs/benchmarks/` hold the raw results; this page is regenerated by
`python tools/analysis/benchmark_report.py`. Runs since 2026-11-27 name the code
they measured (`code <commit>` in the machine line); the notes at the end say which
older sections predate later changes of the measured code.

"""


# file-name prefix -> the script (sibling module) whose ``render`` draws it, or a function
RENDERERS = (('detector_', 'detector_benchmark'), ('train_step', _train_step),
             ('epoch', _epoch), ('profile_', 'step_profile'),
             ('map_comparison', 'map_comparison'), ('sweep_', 'dps_sweep'),
             ('dps_', 'dps_benchmark'), ('egs_fidelity', 'egs_fidelity'),
             ('egs_', 'egs_benchmark'), ('egs-', 'egs_benchmark'),
             ('preset_comparison', 'compare_presets'), ('neck_cost', 'neck_cost'),
             ('sampler_cost', 'sampler_cost'),
             ('inference_', 'inference_benchmark'))
ABLATION = osp.join(osp.dirname(osp.abspath(__file__)), 'ablation.py')
FIGURES = (('egs_', 'egs_benchmark', 'EGS'), ('dps_', 'dps_benchmark', 'DPS'))


def _renderer(name: str):
    for prefix, render in RENDERERS:
        if name.startswith(prefix):
            return importlib.import_module(render).render if isinstance(render, str) else render
    return None


def _figures(json_dir: str) -> list:
    """The EGS and DPS PNGs beside the JSON (matplotlib); their markdown lines."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return []
    out = []
    for prefix, script, title in FIGURES:
        for dev in ('cuda', 'cpu'):
            path = osp.join(json_dir, f'{prefix}{dev}.json')
            if osp.exists(path):
                with open(path) as f:
                    importlib.import_module(script).figure(
                        json.load(f), dev, osp.join(json_dir, f'{prefix}{dev}.png'))
                out.append(f'![{title} {dev}](benchmarks/{prefix}{dev}.png)')
    return out


def _ablations(json_dir: str) -> list:
    """One section per ``ablation_*.json``, by ``ablation.py``'s ``render_markdown``."""
    paths = sorted(glob(osp.join(json_dir, 'ablation_*.json')))
    if not paths:
        return []
    if not osp.isfile(ABLATION):
        raise FileNotFoundError(f'{paths[0]} needs tools/analysis/ablation.py (its '
                                'render_markdown) to be rendered; it is missing')
    render = importlib.import_module('ablation').render_markdown
    out = []
    for path in paths:
        with open(path) as f:
            out.append((osp.splitext(osp.basename(path))[0], render(json.load(f))))
    return out


def write_report(json_dir: str, out_md: str) -> None:
    parts = [HEADER]
    order = [prefix for prefix, _ in RENDERERS]

    def rank(path):
        name = osp.basename(path)
        return (min([i for i, p in enumerate(order) if name.startswith(p)] or [len(order)]),
                name)
    paths = [p for p in glob(osp.join(json_dir, '*.json'))
             if not osp.basename(p).startswith('ablation_')]
    titles = {}
    for path in sorted(paths, key=rank):
        name = osp.splitext(osp.basename(path))[0]
        with open(path) as f:
            data = json.load(f)
        render = _renderer(name)
        parts.append(render(data) if render else _generic(name, data))
        titles[name] = parts[-1].split('\n', 1)[0].lstrip('#').strip()
    figures = _figures(json_dir)
    if figures:
        parts += ['### Figures', ''] + [f + '\n' for f in figures]
    manual = osp.join(json_dir, 'manual.md')
    if osp.exists(manual):
        with open(manual) as f:
            parts.append(f.read())
    for name, section in _ablations(json_dir):
        parts.append(section)
        titles[name] = section.split('\n', 1)[0].lstrip('#').strip()
    from benchmark_headline import headline
    parts.insert(1, headline(json_dir, titles, '\n'.join(parts[1:])))
    from etad_mmaction.fileio import write_text
    write_text('\n'.join(parts), out_md)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--json-dir', default=B.OUT_DIR)
    p.add_argument('--out', default=osp.join(B.ROOT, 'docs', 'benchmarks.md'))
    args = p.parse_args(argv)
    write_report(args.json_dir, args.out)


if __name__ == '__main__':
    main()
