"""``python -m benchmarks.launch USAGE_FILE CMD...``: run CMD, write its own CPU and peak RSS.

Started from this small process, the contender's peak RSS is its own: on Linux a child's
``ru_maxrss`` also counts the memory of the process it was forked from, here only this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

if __name__ == "__main__":
    usage_file, *command = sys.argv[1:]
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    with open(usage_file, "w") as fh:
        json.dump({"cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}, fh)
    sys.exit(os.waitstatus_to_exitcode(status))
