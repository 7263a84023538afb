"""Live BPF probes: C programs beside the Python that loads them and decodes their maps."""

import threading

# BCC's compiler (LLVM) is not thread-safe: two probes compiling at once in their workers
# crashed the process. Every BPF() construction and cleanup() holds this lock.
BCC_LOCK = threading.Lock()
