"""Detection timeline in the style of the paper's Figure 7: ground truth above the
time axis, the top-k predictions below it, coloured by score or by tIoU with the
ground truth."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from ..fileio import atomic_path


def _max_tiou(seg, gts) -> float:
    if not len(gts):
        return 0.0
    g = np.asarray(gts, dtype=np.float64).reshape(-1, 2)
    inter = np.clip(np.minimum(seg[1], g[:, 1]) - np.maximum(seg[0], g[:, 0]), 0, None)
    union = (seg[1] - seg[0]) + (g[:, 1] - g[:, 0]) - inter
    return float(np.max(inter / np.maximum(union, 1e-12)))


def plot_timeline(result: dict, out_file: str, ground_truth: Optional[Sequence] = None,
                  top_k: int = 10, color_by: str = 'score', title: Optional[str] = None):
    """Draw ``result`` (from :func:`~etad_mmaction.apis.inference_detector`) to
    ``out_file`` (PNG, written atomically).

    Args:
        ground_truth: ``[(start, end, label), ...]`` in seconds, drawn above the axis.
        top_k: predictions drawn below the axis, best first.
        color_by: ``'score'`` or ``'iou'`` (max tIoU with the ground truth; needs it).

    Returns the names of the lanes drawn, top to bottom.
    """
    if color_by not in ('score', 'iou'):
        raise ValueError(f"color_by must be 'score' or 'iou', got {color_by!r}")
    if color_by == 'iou' and not ground_truth:
        raise ValueError("color_by='iou' needs ground_truth")
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    duration = float(result['duration'])
    dets = result['detections'][:top_k]
    gts = [tuple(g) for g in (ground_truth or [])]
    height = 1.2 + 0.32 * (len(gts) + len(dets))
    fig, ax = plt.subplots(figsize=(10, max(2.5, height)))
    cmap = plt.get_cmap('viridis')
    y = 0.6
    for start, end, label in gts:
        ax.barh(y, end - start, left=start, height=0.26, color='#d62728')
        ax.text(start, y + 0.17, str(label), fontsize=7, va='bottom')
        y += 0.32
    if gts:
        ax.axhline(0, color='black', linewidth=1)
    y = -0.6
    gt_segs = [(s, e) for s, e, _ in gts]
    for d in dets:
        s, e = d['segment']
        value = d['score'] if color_by == 'score' else _max_tiou((s, e), gt_segs)
        ax.barh(y, e - s, left=s, height=0.26, color=cmap(float(np.clip(value, 0, 1))))
        ax.text(e + duration * 0.005, y, f"{d['label']} {d['score']:.2f}", fontsize=7,
                va='center')
        y -= 0.32
    ax.set_xlim(0, duration * 1.12)
    # a lane for the ground truth only when there is one; each lane named on the axis
    top = 0.6 + 0.32 * (len(gts) - 1) + 0.45 if gts else -0.3
    ax.set_ylim(y - 0.2, top)
    ticks, lanes = [(y + 0.32 - 0.6) / 2 if dets else -0.6], ['detections']
    if gts:
        ticks.insert(0, 0.6 + 0.32 * (len(gts) - 1) / 2)
        lanes.insert(0, 'ground truth')
    ax.set_yticks(ticks)
    ax.set_yticklabels(lanes)
    ax.set_xlabel('time (s)')
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.colorbar(sm, ax=ax, label='score' if color_by == 'score' else 'tIoU with ground truth')
    ax.set_title(title or osp.basename(result.get('video', '')) +
                 ('  (class-agnostic)' if result.get('class_agnostic') else ''))
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=110, format=osp.splitext(out_file)[1][1:] or 'png')
    plt.close(fig)
    return lanes
