# SPDX-License-Identifier: MIT
"""hostile.py: the load generators of t_hostile.sh (issue 14).

  swap ROOT OUTSIDE PORT SECONDS
      A folder ROOT/sub is exchanged with a link ROOT/sub.swap -> OUTSIDE,
      back and forth in a tight loop, while four threads ask nginx on PORT
      for sub/img.tif's info.json, its image (full/max png), its manifest
      and sub's collection. OUTSIDE holds an img.tif of other dimensions
      and a secret-outside.tif. Prints "kind=200s/404s ..." and
      "leaks=N" (an answer that shows the outside file or folder).
  torn FILE A B PORT ID SECONDS
      FILE is rewritten in place, chunk by chunk (64 KB pwrites, as dd
      conv=notrunc does), with the bytes of A and B in turn (same size,
      solid colours), pausing 100 ms after each version; four threads ask
      for ID/full/256,/0/default.png. Prints "ok=N changed=M torn=K
      other=L": a 200 whose pixels are not all one version's colour is
      torn; a 503 with Retry-After is "changed".
  colours DIR
      Writes DIR/red.tif and DIR/blue.tif: 1024x768 RGB, uncompressed,
      the same size in bytes.
  fcgi HOST PORT REMOTE_ADDR XFF PATH
      One FastCGI request for PATH (an IIIF= argument) straight to the
      worker socket, as a web server at REMOTE_ADDR sending
      X-Forwarded-For XFF ("-": none); prints the response's header lines.
  slow HOST PORT N [WAIT]
      Opens N connections to the FastCGI socket and sends half a request
      on each (a BEGIN_REQUEST and part of a PARAMS record), then one
      whole request on a new connection; prints the seconds it took to
      get its answer (or "none"), then "closed=K": how many of the N the
      worker closed within WAIT seconds (10).
"""
import ctypes
import http.client
import io
import os
import re
import signal
import socket
import struct
import sys
import threading
import time


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read(), r


def swap(root, outside, port, seconds):
    libc = ctypes.CDLL(None, use_errno=True)
    sub, alt = os.path.join(root, "sub"), os.path.join(root, "sub.swap")
    os.symlink(outside, alt)
    stop = time.time() + seconds
    swaps = [0]

    def swapper():
        have = hasattr(libc, "renameat2")
        while time.time() < stop:
            if have:
                # RENAME_EXCHANGE (2): the folder and the link trade places
                if libc.renameat2(-100, sub.encode(), -100, alt.encode(), 2):
                    have = False
                    continue
            else:
                os.rename(sub, sub + ".real")
                os.rename(alt, sub)
                os.rename(sub, alt)
                os.rename(sub + ".real", sub)
            swaps[0] += 1
        # leave the folder in place
        if os.path.islink(sub):
            libc.renameat2(-100, sub.encode(), -100, alt.encode(), 2)

    counts = {}
    leaks = []
    lock = threading.Lock()

    def client(paths):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = 0
        while time.time() < stop:
            kind, path = paths[i % len(paths)]
            i += 1
            try:
                status, body, _ = get(conn, path)
            except Exception:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=30)
                continue
            leak = None
            if status == 200:
                if kind == "info" and (b"1001" in body or b"737" in body):
                    leak = "info.json of the outside file"
                elif kind == "image":
                    w, h = struct.unpack(">II", body[16:24])
                    if (w, h) != (640, 480):
                        leak = "image of %dx%d" % (w, h)
                elif kind == "manifest" and (b"1001" in body
                                             or b"737" in body):
                    leak = "manifest of the outside file"
                elif kind == "collection" and b"secret-outside" in body:
                    leak = "listing of the outside folder"
            with lock:
                c = counts.setdefault(kind, {})
                c[status] = c.get(status, 0) + 1
                if leak:
                    leaks.append(leak)

    paths = [("info", "/iiif/3/sub%2Fimg.tif/info.json"),
             ("image", "/iiif/3/sub%2Fimg.tif/full/max/0/default.png"),
             ("manifest", "/iiif/3/sub%2Fimg.tif/manifest"),
             ("collection", "/iiif/3/sub/collection.json")]
    threads = [threading.Thread(target=swapper)]
    for k in range(4):
        threads.append(threading.Thread(target=client,
                                        args=(paths[k:] + paths[:k],)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.unlink(alt)
    print(" ".join("%s=%d/%d/%d" % (k, v.get(200, 0), v.get(404, 0),
                                    sum(n for s, n in v.items()
                                        if s not in (200, 404)))
                   for k, v in sorted(counts.items())))
    print("swaps=%d" % swaps[0])
    print("leaks=%d %s" % (len(leaks), sorted(set(leaks))))


def colours(d):
    from PIL import Image
    for name, c in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        Image.new("RGB", (1024, 768), c).save(os.path.join(d, name + ".tif"),
                                             compression=None)


def torn(path, a, b, port, ident, seconds):
    from PIL import Image
    versions = [open(a, "rb").read(), open(b, "rb").read()]
    assert len(versions[0]) == len(versions[1])
    stop = time.time() + seconds
    res = {"ok": 0, "changed": 0, "torn": 0, "other": 0}
    lock = threading.Lock()

    def writer():
        fd = os.open(path, os.O_WRONLY)
        v = 0
        while time.time() < stop:
            data = versions[v]
            for off in range(0, len(data), 65536):
                os.pwrite(fd, data[off:off + 65536], off)
            v ^= 1
            time.sleep(0.1)
        os.close(fd)

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < stop:
            try:
                status, body, r = get(conn, "/iiif/3/%s/full/256,/0/"
                                      "default.png" % ident)
            except Exception:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=30)
                continue
            if status == 200:
                im = Image.open(io.BytesIO(body)).convert("RGB")
                cols = im.getcolors(1 << 20)
                kind = ("ok" if len(cols) == 1
                        and cols[0][1] in ((255, 0, 0), (0, 0, 255))
                        else "torn")
            elif status == 503 and r.getheader("Retry-After") == "1":
                kind = "changed"
            else:
                kind = "other"
            with lock:
                res[kind] += 1

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join("%s=%d" % (k, res[k])
                   for k in ("ok", "changed", "torn", "other")))


def fcgi_record(rtype, content, rid=1):
    pad = (8 - len(content) % 8) % 8
    return (struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0)
            + content + b"\0" * pad)


def fcgi_params(pairs):
    out = b""
    for k, v in pairs:
        for s in (k, v):
            out += (bytes([len(s)]) if len(s) < 128
                    else struct.pack(">I", len(s) | 0x80000000))
        out += k + v
    return out


def slow(host, port, n, wait=10.0):
    begin = fcgi_record(1, struct.pack(">HB5x", 1, 0))
    params = fcgi_params([(b"REQUEST_METHOD", b"GET"),
                          (b"QUERY_STRING", b"IIIF=/bg.tif/info.json"),
                          (b"REQUEST_URI", b"/iiif/3/bg.tif/info.json"),
                          (b"SERVER_NAME", b"localhost"),
                          (b"SERVER_PORT", b"80")])
    whole = (begin + fcgi_record(4, params) + fcgi_record(4, b"")
             + fcgi_record(5, b""))
    stalled = []
    for _ in range(n):
        s = socket.create_connection((host, port))
        # half a request: BEGIN and the first half of the PARAMS record
        rec = fcgi_record(4, params)
        s.sendall(begin + rec[:len(rec) // 2])
        stalled.append(s)
    time.sleep(0.5)
    t0 = time.time()
    s = socket.create_connection((host, port))
    s.settimeout(60)
    s.sendall(whole)
    got = b""
    try:
        while b"\x01\x03" not in got:     # FCGI_END_REQUEST
            c = s.recv(65536)
            if not c:
                break
            got += c
    except socket.timeout:
        pass
    took = time.time() - t0
    print("%.2f" % took if b"200" in got[:200] or b"Status: 200" in got
          or b"\x01\x03" in got else "none")
    # the stalled ones: closed by the worker by now?
    closed = 0
    end = time.time() + wait
    for c in stalled:
        c.settimeout(max(0.01, end - time.time()))
        try:
            closed += c.recv(1) == b""
        except ConnectionResetError:
            closed += 1         # closed with unread bytes: a reset
        except socket.timeout:
            pass
    print("closed=%d" % closed)


def fcgi_one(host, port, remote, xff, path):
    pairs = [(b"REQUEST_METHOD", b"GET"),
             (b"QUERY_STRING", b"IIIF=" + path.encode()),
             (b"REQUEST_URI", b"/iiif" + path.encode()),
             (b"SERVER_NAME", b"localhost"), (b"SERVER_PORT", b"80"),
             (b"REMOTE_ADDR", remote.encode())]
    if xff != "-":
        pairs.append((b"HTTP_X_FORWARDED_FOR", xff.encode()))
    s = socket.create_connection((host, port))
    s.settimeout(30)
    s.sendall(fcgi_record(1, struct.pack(">HB5x", 1, 0))
              + fcgi_record(4, fcgi_params(pairs)) + fcgi_record(4, b"")
              + fcgi_record(5, b""))
    got = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        got += c
    # the first STDOUT record holds the headers
    out, off = b"", 0
    while off + 8 <= len(got):
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB",
                                                   got[off:off + 8])
        if rtype == 6:
            out += got[off + 8:off + 8 + clen]
        off += 8 + clen + plen
    print(out.split(b"\r\n\r\n")[0].decode("latin-1"))


def fcgi_get(path, keep):
    pairs = [(b"REQUEST_METHOD", b"GET"),
             (b"QUERY_STRING", b"IIIF=" + path.encode()),
             (b"REQUEST_URI", b"/iiif" + path.encode()),
             (b"SERVER_NAME", b"localhost"), (b"SERVER_PORT", b"80")]
    return (fcgi_record(1, struct.pack(">HB5x", 1, 1 if keep else 0))
            + fcgi_record(4, fcgi_params(pairs)) + fcgi_record(4, b"")
            + fcgi_record(5, b""))


def fcgi_answer(s):
    """The status of one response on s (its END_REQUEST read), or what
    happened instead: 'closed', 'reset', 'timeout'."""
    got = b""
    try:
        while True:
            off, done = 0, False
            while off + 8 <= len(got):
                _, rtype, _, clen, plen, _ = struct.unpack(
                    ">BBHHBB", got[off:off + 8])
                if off + 8 + clen + plen > len(got):
                    break
                if rtype == 3:
                    done = True
                off += 8 + clen + plen
            if done:
                break
            c = s.recv(65536)
            if not c:
                return "closed"
            got += c
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    m = re.search(rb"Status: (\d+)", got)
    return m.group(1).decode() if m else "200"


def stopdrain(host, port, worker, path):
    """A kept connection, then its next request sent while the worker is
    stopped (SIGSTOP), a new connection's request besides, and a graceful
    stop (SIGTERM) before it runs again: the kept connection's request is
    answered, not closed unread."""
    a = socket.create_connection((host, port))
    a.settimeout(20)
    a.sendall(fcgi_get(path, True))
    first = fcgi_answer(a)
    time.sleep(0.3)          # parked again
    os.kill(worker, signal.SIGSTOP)
    try:
        b = socket.create_connection((host, port))
        b.settimeout(20)
        b.sendall(fcgi_get(path, False))
        a.sendall(fcgi_get(path, True))
        time.sleep(0.2)
        os.kill(worker, signal.SIGTERM)
        time.sleep(0.1)
    finally:
        os.kill(worker, signal.SIGCONT)
    print("first=%s kept=%s new=%s" % (first, fcgi_answer(a), fcgi_answer(b)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "swap":
        swap(args[0], args[1], int(args[2]), float(args[3]))
    elif cmd == "torn":
        torn(args[0], args[1], args[2], int(args[3]), args[4],
             float(args[5]))
    elif cmd == "colours":
        colours(args[0])
    elif cmd == "fcgi":
        fcgi_one(args[0], int(args[1]), args[2], args[3], args[4])
    elif cmd == "stopdrain":
        stopdrain(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "slow":
        slow(args[0], int(args[1]), int(args[2]),
             float(args[3]) if len(args) > 3 else 10.0)
