"""Typed contracts of the files one component writes and another reads.

Each file has one dataclass here with ``write(folder)`` and ``read(folder)``: only its
module (and the component that writes it) knows the file's name, every reader goes
through it, and each file carries a ``version``. The package imports no TensorFlow, so the
light commands (lineage, the runner's console) read the same classes as the components.
"""
