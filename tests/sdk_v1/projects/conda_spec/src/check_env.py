# Reports what the run's environment holds.
import sys

import numpy

from runyard.core import Run

run = Run.get_context()
run.log("numpy_major", int(numpy.__version__.split(".")[0]))
run.tag("python", f"{sys.version_info.major}.{sys.version_info.minor}")
print("numpy", numpy.__version__, "at", numpy.__file__)
