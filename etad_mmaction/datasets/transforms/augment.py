"""RandAugment on video frames without ``imgaug``.

MMAction2's ``ImgAug(transforms='default')`` (used by the authors' end-to-end
ETAD) is RandAugment (Cubuk et al., 2019): 2 of 15 image operations at magnitude
9/10, the same for every frame of a video. It needs the ``imgaug`` package,
whose last release (0.4.0) installs beside NumPy 2 but fails at import
(``np.sctypes`` was removed). :class:`TADRandAugment` applies the same list --
read from ``ImgAug.default_transforms()`` -- with Pillow.
"""
import random
from typing import List, Sequence, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance, ImageOps

from mmaction.datasets.transforms import ColorJitter
from mmaction.registry import TRANSFORMS


def _affine(img: Image.Image, matrix) -> Image.Image:
    """Inverse affine ``matrix`` (output -> input, 2x3) about the image centre,
    bilinear, black outside (imgaug's ``cval=0``)."""
    w, h = img.size
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a, b, c, d, e, f = matrix
    # move the centre to the origin, apply, move back
    c2 = c + cx - a * cx - b * cy
    f2 = f + cy - d * cx - e * cy
    return img.transform(img.size, Image.AFFINE, (a, b, c2, d, e, f2), Image.BILINEAR,
                         fillcolor=(0, 0, 0))


def _op(spec: dict):
    """One imgaug augmenter of the default list -> ``f(PIL image, rng state) -> image``
    (``state`` holds the per-video random draws, e.g. the cutout position)."""
    kind = spec['type']
    if kind in ('ShearX', 'ShearY'):
        t = float(np.tan(np.deg2rad(spec['shear'])))
        m = (1, -t, 0, 0, 1, 0) if kind == 'ShearX' else (1, 0, 0, -t, 1, 0)
        return lambda img, st: _affine(img, m)
    if kind in ('TranslateX', 'TranslateY'):
        p = float(spec['percent'])
        return lambda img, st: _affine(
            img, (1, 0, -p * img.size[0], 0, 1, 0) if kind == 'TranslateX'
            else (1, 0, 0, 0, 1, -p * img.size[1]))
    if kind == 'Rotate':       # degrees, clockwise for positive values (imgaug)
        r = float(np.deg2rad(spec['rotate']))
        m = (np.cos(r), -np.sin(r), 0, np.sin(r), np.cos(r), 0)
        return lambda img, st: _affine(img, m)
    if kind == 'Posterize':
        return lambda img, st: ImageOps.posterize(img, int(spec['nb_bits']))
    if kind == 'Solarize':     # invert the values >= threshold
        thr = float(spec['threshold'])
        return lambda img, st: Image.fromarray(
            np.where(np.asarray(img) >= thr, 255 - np.asarray(img), np.asarray(img)))
    enhancers = dict(EnhanceColor=ImageEnhance.Color, EnhanceContrast=ImageEnhance.Contrast,
                     EnhanceBrightness=ImageEnhance.Brightness,
                     EnhanceSharpness=ImageEnhance.Sharpness)
    if kind in enhancers:
        return lambda img, st: enhancers[kind](img).enhance(float(spec['factor']))
    if kind == 'Autocontrast':
        return lambda img, st: ImageOps.autocontrast(img, cutoff=spec.get('cutoff', 0))
    if kind == 'Equalize':
        return lambda img, st: ImageOps.equalize(img)
    if kind == 'Invert':
        return lambda img, st: ImageOps.invert(img)
    if kind == 'Cutout':       # one box of size * (H, W) filled with 128 (imgaug's cval)
        size = float(spec['size'])

        def cutout(img, st):
            w, h = img.size
            bw, bh = max(1, round(size * w)), max(1, round(size * h))
            x0 = int(round(st['cx'] * w - bw / 2))
            y0 = int(round(st['cy'] * h - bh / 2))
            arr = np.array(img)
            arr[max(0, y0):max(0, y0 + bh), max(0, x0):max(0, x0 + bw)] = 128
            return Image.fromarray(arr)
        return cutout
    raise KeyError(f'TADRandAugment: augmenter {kind!r} is not implemented (the '
                   'supported ones are those of ImgAug.default_transforms())')


@TRANSFORMS.register_module()
class TADRandAugment(BaseTransform):
    """MMAction2's ``ImgAug(transforms='default')`` without ``imgaug``: per video,
    ``SomeOf(n=2)`` of the 15 operations of ``ImgAug.default_transforms()``
    (shear / translate / rotate, posterize, solarize, colour / contrast /
    brightness / sharpness enhancement, autocontrast, equalize, invert, cutout),
    applied in list order, with the same draws on every frame of the video.
    As in MMAction2, the signs of the geometric magnitudes are drawn once, when
    the transform is built.

    Args:
        transforms (str | list[dict]): ``'default'`` or a list of imgaug-style
            dicts (``SomeOf`` with ``n`` and ``children``, or the operations).

    Required keys: ``imgs`` (list of ``H x W x 3`` uint8). Modified: ``imgs``.
    """

    def __init__(self, transforms: Union[str, Sequence[dict]] = 'default'):
        if transforms == 'default':
            from mmaction.datasets.transforms import ImgAug
            transforms = ImgAug.default_transforms()
        if isinstance(transforms, str) or not all(isinstance(t, dict) for t in transforms):
            raise ValueError("TADRandAugment: transforms must be 'default' or a list of dicts, "
                             f'got {transforms!r}')
        self.specs = [dict(t) for t in transforms]
        self.groups = []            # [(n or None, [ops])]
        for spec in self.specs:
            if spec['type'] == 'SomeOf':
                self.groups.append((int(spec['n']), [_op(c) for c in spec['children']]))
            else:
                self.groups.append((None, [_op(spec)]))

    def draw(self) -> List[int]:
        """Per group, the indices of the operations applied to this video."""
        return [sorted(random.sample(range(len(ops)), n)) if n is not None
                else list(range(len(ops))) for n, ops in self.groups]

    def transform(self, results: dict) -> dict:
        chosen = self.draw()
        state = dict(cx=random.random(), cy=random.random())
        frames = []
        for frame in results['imgs']:
            img = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
            for (_, ops), idx in zip(self.groups, chosen):
                for i in idx:
                    img = ops[i](img, state)
            frames.append(np.asarray(img, dtype=np.uint8))
        results['imgs'] = frames
        results['randaugment_ops'] = chosen
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.specs})'


@TRANSFORMS.register_module()
class TADColorJitter(ColorJitter):
    """MMAction2's ``ColorJitter`` with NumPy 1's hue arithmetic under NumPy 2.

    MMAction2 1.2's ``ColorJitter.adjust_hue`` adds a negative Python int to a
    uint8 array, which NumPy 2 refuses (NEP 50: ``OverflowError``); NumPy 1
    computed it in int16, as this class does. Every other step is MMAction2's.
    Can go when MMAction2 casts.
    """

    @staticmethod
    def adjust_hue(img, factor):
        img = np.clip(img, 0, 255).astype(np.uint8)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(factor * 255)) % 180
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
