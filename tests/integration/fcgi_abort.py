# SPDX-License-Identifier: MIT
# fcgi_abort: one FastCGI request straight to vellum's socket, aborted with
# FCGI_ABORT_REQUEST after DELAY seconds while the connection stays open
# (t_limits.sh). Prints "STATUS SECONDS": the status line vellum answered
# and how long after the abort it came ("none" if nothing came in LIMIT s).
import socket, struct, sys, time

host, port, query, delay, limit = (sys.argv[1], int(sys.argv[2]), sys.argv[3],
                                   float(sys.argv[4]), float(sys.argv[5]))

def rec(t, rid, body):
    return struct.pack(">BBHHBx", 1, t, rid, len(body), 0) + body

def pair(k, v):
    k, v = k.encode(), v.encode()
    return bytes([len(k)]) + bytes([len(v)]) + k + v if len(v) < 128 else \
        bytes([len(k)]) + struct.pack(">I", len(v) | 0x80000000) + k + v

params = b"".join(pair(k, v) for k, v in [
    ("REQUEST_METHOD", "GET"), ("QUERY_STRING", query),
    ("REQUEST_URI", "/fcgi?" + query), ("SERVER_NAME", "127.0.0.1"),
    ("SERVER_PORT", str(port)), ("HTTP_HOST", "127.0.0.1")])
s = socket.create_connection((host, port))
s.sendall(rec(1, 1, struct.pack(">HB5x", 1, 1))     # BEGIN, keep conn
          + rec(4, 1, params) + rec(4, 1, b"") + rec(5, 1, b""))
time.sleep(delay)
s.sendall(rec(2, 1, b""))                             # ABORT_REQUEST
t0 = time.time()
s.settimeout(limit)
data = b""
try:
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
status = "none"
if len(data) > 8:
    text = data[8:].decode("latin-1")
    for line in text.splitlines():
        if line.lower().startswith("status:"):
            status = line.split()[1]
            break
    else:
        status = "200" if text.startswith("Content-Type") else "?"
print(status, "%.2f" % (time.time() - t0))
