"""chickenseg_model: the only place where PyTorch holds SAM 3.

Driven by the C++ tool (`chickenseg model ...`, `chickenseg baseline`) through files:
SA-Co dataset JSON in, predictions / presence JSON and model packages out.
Metrics are never computed here: `chickenseg eval` does that.
"""

__version__ = "0.1.0"
