"""Live BPF probes: C programs beside the Python that loads them and decodes their maps."""

import threading

# BCC's compiler (LLVM) is not thread-safe: two probes compiling at once in their workers
# crashed the process. Every BPF() construction and cleanup() holds this lock.
BCC_LOCK = threading.Lock()

# Set when netwatch is leaving (loader.stop_compiling): no compile starts after it, and no
# program is loaded and attached one by one after it (btf_attach), so a stop between a
# compile and the end of its attaching is answered at once, not when the attaching is done.
LEAVING = threading.Event()
