"""mmpretrain's ``PackInputs`` that also keeps each sample's patient."""
from mmpretrain.datasets.transforms import PackInputs as _PackInputs

from medkd.registry import TRANSFORMS

#: The metadata every medkd data sample carries when the dataset has it:
#: mmpretrain's, plus the group a sample belongs to (its patient, slide or
#: donor), which the metrics resample (cluster bootstrap).
MEDKD_META_KEYS = tuple(_PackInputs.DEFAULT_META_KEYS) + ('patient_id', )


@TRANSFORMS.register_module(name='PackInputs')
class PackInputs(_PackInputs):
    """:class:`mmpretrain.datasets.transforms.PackInputs` whose default
    ``meta_keys`` add ``patient_id``: with ``default_scope = 'medkd'``,
    ``dict(type='PackInputs')`` in any config gives data samples (and
    ``--out`` dumps) that name their patient whenever the dataset's entries
    do (``CNMC2019``, ``CheXpert``, ``Kather2016``'s slide,
    ``MultiModalCells``' donor), so confidence intervals resample patients.
    Absent keys are skipped, as in mmpretrain.

    Args:
        As mmpretrain's; ``meta_keys`` defaults to :data:`MEDKD_META_KEYS`.
    """

    def __init__(self,
                 input_key='img',
                 algorithm_keys=(),
                 meta_keys=MEDKD_META_KEYS):
        super().__init__(input_key=input_key,
                         algorithm_keys=algorithm_keys,
                         meta_keys=meta_keys)
