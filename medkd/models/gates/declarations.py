"""What a gate declares about itself, read in one place."""


def gate_uses_teacher_outputs(gate) -> bool:
    """Whether ``gate`` (a gate module or class) weighs the teachers by
    their outputs, so that predicting (its dumped ``gate_weights``) needs the
    teachers' real weights.

    A gate declares it with the class attribute ``uses_teacher_outputs``;
    one that does not is taken to need them (the safe default: its teachers
    are loaded at test time rather than left at their random
    initialisation). Both the distiller's ``predict`` and ``tools/test.py``
    (:func:`medkd.apis.evaluate.skip_teacher_loading`) read this.
    """
    return bool(getattr(gate, 'uses_teacher_outputs', True))
