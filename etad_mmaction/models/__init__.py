from . import samplers  # noqa: F401
from . import heads, localizers, losses, necks, wrappers  # noqa: F401
