from . import samplers  # noqa: F401
from . import encoders, heads, localizers, losses, necks, wrappers  # noqa: F401
