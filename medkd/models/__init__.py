from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .connectors import *  # noqa: F401,F403
from .teachers import *  # noqa: F401,F403
from .distillers import *  # noqa: F401,F403
from .gates import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .calibration import TemperatureScaling  # noqa: F401
