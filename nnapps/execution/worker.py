"""A worker process's entry point: python -m nnapps.execution.worker CONN_FD STOP_FD (started by
the process backend, never by hand)."""

import sys
from multiprocessing.connection import Connection

from nnapps.execution.processes import serve

if __name__ == "__main__":
    conn_fd, stop_fd = (int(a) for a in sys.argv[1:3])
    serve(Connection(conn_fd), Connection(stop_fd))
