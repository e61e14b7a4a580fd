"""Workloads that drive the firmware as a user would, on both runtimes (device code, checked by
the same gates): the demo shift (``demo_shift.py``) and the TSE exercise (``tse_exercise.py``).
They are not part of the firmware a terminal runs; host tools start them (``tools/demo.py``,
``tools/tse.py``)."""
