#!/usr/bin/env python3
"""A TCP proxy that records every byte it forwards.

    tap_proxy.py UPSTREAM_HOST:PORT CAPTURE_FILE PORT_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening),
forwards each connection to UPSTREAM, and appends the bytes of both
directions to CAPTURE_FILE. Runs until killed.
"""
import os
import socket
import sys
import threading

upstream_host, upstream_port = sys.argv[1].rsplit(":", 1)
capture = open(sys.argv[2], "ab", buffering=0)
lock = threading.Lock()


def pipe(src, dst):
    try:
        while data := src.recv(65536):
            with lock:
                capture.write(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    try:
        up = socket.create_connection((upstream_host, int(upstream_port)))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, up), daemon=True).start()
    threading.Thread(target=pipe, args=(up, client), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while True:
    conn, _ = listener.accept()
    serve(conn)
