from . import samplers  # noqa: F401
from . import backbones, converters, encoders, heads, localizers, losses, necks, roi_heads, wrappers  # noqa: F401,E501
