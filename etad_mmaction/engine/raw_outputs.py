"""Raw scored proposals (before NMS) on disk, and the post-processing that runs
from them alone (``tools/test.py --dump-raw DIR``,
``tools/analysis/post_process.py``), as the authors' ``post.py`` does.

One file per test sample (``<sample_idx>_<video>.pkl``, written atomically): the
boundary-selected proposals of the model (``valid``, Appendix B.2) in snippet
units with their scores, the model's ``num_snippets`` and the sample's metainfo
(``video_name``, ``window_start``, ``snippet_seconds``, ``duration``,
``gt_video``, ``classifier_scores``). ``dataset_meta.json`` holds the classes.
Post-processing = candidate cap (``pre_top_k``), NMS (``model.test_cfg.nms``),
seconds, then :class:`TADMetric` (window merging, top-k, class assignment,
evaluation): the same functions as ``ETAD.predict`` and the test loop, so the
detections are identical.
"""
import glob
import json
import os
import os.path as osp
import pickle
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import barrier, is_main_process
from mmengine.hooks import Hook

from mmaction.registry import HOOKS
from ..datasets.transforms.formatting import CONTRACT_META_KEYS
from ..fileio import atomic_path, dump_json
from ..models.utils import select_and_suppress, to_video_time
from .hooks import unwrap

RAW_FORMAT = 'etad-raw-proposals/1'
META_FILE = 'dataset_meta.json'
_UNSAFE = re.compile(r'[^A-Za-z0-9._-]')


def raw_file_name(metainfo: dict) -> str:
    """``<sample_idx, 7 digits>_<video_name>.pkl``: name order is dataset order."""
    return f"{int(metainfo['sample_idx']):07d}_{_UNSAFE.sub('_', str(metainfo['video_name']))}.pkl"


def raw_record(data_sample) -> dict:
    """What one file holds (see the module docstring)."""
    raw = data_sample.raw_proposals
    meta = data_sample.metainfo
    def array(t):  # the model's precision (float16/bfloat16 stored as float32)
        return (t.float() if t.dtype in (torch.float16, torch.bfloat16) else t).cpu().numpy()
    return dict(format=RAW_FORMAT, num_snippets=int(raw.metainfo['num_snippets']),
                segments=array(raw.segments), scores=array(raw.scores),
                metainfo={k: meta[k] for k in CONTRACT_META_KEYS if k in meta})


def write_raw(data_sample, folder: str) -> str:
    path = osp.join(folder, raw_file_name(data_sample.metainfo))
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        pickle.dump(raw_record(data_sample), f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def raw_files(folder: str) -> List[str]:
    """The raw files of ``folder`` in dataset order; an error when there are none."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{folder} is not a folder of raw proposals '
                                '(tools/test.py --dump-raw DIR writes one)')
    files = sorted(glob.glob(osp.join(folder, '[0-9]*_*.pkl')))
    if not files:
        raise FileNotFoundError(f'{folder} has no raw proposal files (<index>_<video>.pkl); '
                                'write them with tools/test.py CONFIG CKPT --dump-raw '
                                f'{folder}')
    return files


def load_raw(path: str) -> dict:
    """One raw file, checked (a clear error naming the file otherwise)."""
    try:
        with open(path, 'rb') as f:
            rec = pickle.load(f)
    except Exception as err:  # truncated, not a pickle ...
        raise ValueError(f'{path}: not a raw proposal file ({type(err).__name__}: {err})') \
            from None
    if not isinstance(rec, dict) or rec.get('format') != RAW_FORMAT:
        raise ValueError(f'{path}: not a raw proposal file of format {RAW_FORMAT!r}')
    seg, sc = np.asarray(rec['segments']), np.asarray(rec['scores'])
    if seg.ndim != 2 or seg.shape[1:] != (2,) or sc.shape != (len(seg),):
        raise ValueError(f'{path}: segments {seg.shape} and scores {sc.shape} do not match')
    return rec


def load_dataset_meta(folder: str) -> dict:
    path = osp.join(folder, META_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing (tools/test.py --dump-raw writes it '
                                'with the raw files)')
    with open(path) as f:
        return json.load(f)


def post_process_record(rec: dict, nms_cfg: dict) -> dict:
    """Candidate cap + NMS + seconds for one raw record -> a ``TADMetric.process``
    sample (``ETAD.predict`` on the same proposals gives the same numbers)."""
    seg = torch.from_numpy(np.asarray(rec['segments']))
    sc = torch.from_numpy(np.asarray(rec['scores']))
    valid = torch.ones(len(sc), dtype=torch.bool)
    [(seg, sc)] = select_and_suppress(seg[None], sc[None], valid[None], rec['num_snippets'],
                                      nms_cfg)
    meta = rec['metainfo']
    pred = to_video_time(seg, sc, meta)
    return dict(video_name=meta['video_name'], gt_video=meta.get('gt_video'),
                duration=meta.get('duration'), classifier_scores=meta.get('classifier_scores'),
                pred_instances=dict(segments=pred.segments, scores=pred.scores))


# ----------------------------------------------------------------- multi-process
_RECORDS: List[dict] = []


def _load_all(files: Sequence[str]) -> None:
    torch.set_num_threads(1)
    _RECORDS[:] = [load_raw(p) for p in files]


def _run_chunk(args) -> List[dict]:
    lo, hi, nms_cfg = args
    return [post_process_record(r, nms_cfg) for r in _RECORDS[lo:hi]]


class RawPostProcessor:
    """Post-processing of a raw folder with ``workers`` processes that load the
    files once (so a grid over NMS settings re-reads nothing)."""

    def __init__(self, folder: str, workers: int = 1):
        self.files = raw_files(folder)
        self.dataset_meta = load_dataset_meta(folder)
        self.workers = max(1, int(workers))
        self._pool = None
        if self.workers == 1:
            _load_all(self.files)
        else:
            import multiprocessing as mp
            method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
            self._pool = mp.get_context(method).Pool(self.workers, initializer=_load_all,
                                                     initargs=(self.files,))

    def __call__(self, nms_cfg: dict) -> List[dict]:
        """``TADMetric.process`` samples of every file, in dataset order."""
        n = len(self.files)
        if self._pool is None:
            return _run_chunk((0, n, nms_cfg))
        step = max(1, -(-n // (4 * self.workers)))
        chunks = [(lo, min(n, lo + step), nms_cfg) for lo in range(0, n, step)]
        return [s for part in self._pool.map(_run_chunk, chunks) for s in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def evaluate_samples(metric, samples: List[dict], dataset_meta: Optional[dict] = None
                     ) -> Dict[str, float]:
    """``metric.process`` + ``compute_metrics``, as the test loop does in one process."""
    metric.results = []
    if dataset_meta is not None:
        metric.dataset_meta = dataset_meta
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


@HOOKS.register_module()
class ETADRawDumpHook(Hook):
    """Writes each test sample's raw scored proposals (before NMS) to ``out_dir``
    (see the module docstring); ``tools/test.py --dump-raw DIR`` adds it.

    A folder that already holds raw files is an error (post-processing reads
    every file of the folder). Every rank writes its own samples.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: str):
        self.out_dir = osp.abspath(out_dir)
        self.written = 0

    def _models(self, runner):
        return [m for m in unwrap(runner.model).modules() if hasattr(m, 'keep_raw_proposals')]

    def before_test(self, runner) -> None:
        if osp.exists(self.out_dir) and not osp.isdir(self.out_dir):
            raise NotADirectoryError(f'--dump-raw {self.out_dir} is a file; give a folder')
        old = glob.glob(osp.join(self.out_dir, '[0-9]*_*.pkl'))
        if old:
            raise FileExistsError(f'--dump-raw {self.out_dir} already holds {len(old)} raw '
                                  'files (e.g. ' + osp.basename(old[0]) + '); give an empty '
                                  'or new folder')
        models = self._models(runner)
        if not models:
            raise TypeError(f'{type(unwrap(runner.model)).__name__} has no ETAD detector '
                            '(keep_raw_proposals); --dump-raw needs one')
        barrier()
        os.makedirs(self.out_dir, exist_ok=True)
        for m in models:
            m.keep_raw_proposals = True
        if is_main_process():
            meta = runner.test_dataloader.dataset.metainfo
            classes = meta.get('classes')
            dump_json(dict(classes=None if classes is None else [str(c) for c in classes]),
                      osp.join(self.out_dir, META_FILE))

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for ds in outputs or []:
            if 'raw_proposals' not in ds:
                raise KeyError(f'video {ds.metainfo.get("video_name")!r}: the model gave no '
                               'raw_proposals')
            write_raw(ds, self.out_dir)
            self.written += 1

    def after_test(self, runner) -> None:
        for m in self._models(runner):
            m.keep_raw_proposals = False
        runner.logger.info(f'wrote the raw proposals of {self.written} samples to '
                           f'{self.out_dir}')
