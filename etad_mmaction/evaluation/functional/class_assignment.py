"""Labelling class-agnostic proposals with a video-level classifier."""
from typing import List, Optional, Sequence

import numpy as np

#: label given to every detection on the class-agnostic path
AGNOSTIC_LABEL = 'action'


def _numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def assign_classes(segments, scores, classifier_scores=None,
                   class_names: Optional[Sequence[str]] = None, top_k: int = 2,
                   agnostic_label: str = AGNOSTIC_LABEL) -> List[dict]:
    """Turn proposals into ActivityNet detections ``[{'label', 'score', 'segment'}]``.

    With ``classifier_scores`` ``[C]`` each proposal is repeated for the
    ``top_k`` best classes of the video (ties: lower class index first) with
    ``score = proposal score * class score`` -- the BMN / CUHK convention on
    ActivityNet (UntrimmedNet-style THUMOS labelling is the same with its own
    ``top_k``). Output order is proposal-major (proposal 0 with classes 1..k,
    then proposal 1, ...).

    Without ``classifier_scores`` (class-agnostic path) every proposal keeps
    its score and gets ``agnostic_label`` (``'action'``); evaluate such output
    against ground truth relabelled to the same name.
    """
    segs = _numpy(segments).reshape(-1, 2)
    sc = _numpy(scores).reshape(-1)
    if len(segs) != len(sc):
        raise ValueError(f'{len(segs)} segments but {len(sc)} scores')
    if classifier_scores is None:
        return [dict(label=agnostic_label, score=float(s), segment=[float(a), float(b)])
                for (a, b), s in zip(segs.tolist(), sc.tolist())]
    cls = _numpy(classifier_scores).reshape(-1)
    if class_names is None:
        raise ValueError('class_names are needed to label detections with classifier scores')
    if len(class_names) != len(cls):
        raise ValueError(f'{len(cls)} classifier scores but {len(class_names)} class names')
    if top_k == 0:
        raise ValueError('top_k=0 assigns no class, so no detection is kept; use a positive '
                         'number of classes per proposal (or -1 for all)')
    k = len(cls) if top_k is None or top_k < 0 else min(int(top_k), len(cls))
    top = np.argsort(-cls, kind='stable')[:k]
    det_scores = (sc[:, None] * cls[top][None, :]).reshape(-1)
    det_segs = np.repeat(segs, k, axis=0)
    labels = [class_names[i] for i in top] * len(segs)
    return [dict(label=str(lab), score=float(s), segment=[float(a), float(b)])
            for lab, s, (a, b) in zip(labels, det_scores.tolist(), det_segs.tolist())]
