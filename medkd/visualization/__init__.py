from .plots import (confusion_png, gate_weights_png, reliability_png,
                    roc_png, row_normalise, training_curves_png)

__all__ = [
    'confusion_png', 'gate_weights_png', 'reliability_png', 'roc_png',
    'row_normalise', 'training_curves_png'
]
