"""chickenseg for Python: the chickenseg C++ engine (SAM 3 with presence gating) in-process.

    import chickenseg
    model = chickenseg.Sam3Wrapper("pkg")          # a package from `chickenseg model export`
    result = model.predict(frame, bgr=True)        # a path, a NumPy array or a PIL image
    result.boxes, result.scores, result.masks, result.presence, result.empty
    annotated = result.to_ultralytics().plot()     # or result.to_supervision()

docs/python.md says more. The training and export package is `chickenseg_model`, a different
one: this package only runs exported model packages.
"""
try:
    from . import _chickenseg
except ImportError as e:  # the compiled part is missing or does not load
    raise ImportError(
        f"chickenseg's compiled module (chickenseg._chickenseg) could not be loaded: {e}. Build it with "
        "scripts/setup (which installs the module into the project's .venv) or install the chickenseg wheel "
        "(docs/python.md)") from e

Error = _chickenseg.Error
Error.__doc__ = "An error of the chickenseg engine (the C++ message: the file, the field, what was expected)."
Error.__module__ = __name__

from .results import Encoded, Result  # noqa: E402
from .wrapper import PLUGIN_FILE, Sam3Wrapper, decode_image, plugin_dir  # noqa: E402

__version__ = _chickenseg.version
__all__ = ["Error", "Encoded", "PLUGIN_FILE", "Result", "Sam3Wrapper", "decode_image", "plugin_dir"]
