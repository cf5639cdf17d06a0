# SPDX-License-Identifier: MIT
# convcheck: the checks of t_convert.sh that need to read pixels or parse
# files (run with /usr/bin/python3: Pillow). Each subcommand prints one
# line and exits 0 when the check holds, 1 when it does not.
#   levels TIFFINFO_OUT W H TILE COMP  levels ceil(w/2^k) x ceil(h/2^k) down
#                                      to one tile, tiled TILE, COMP, the
#                                      reduced ones marked reduced
#   same A B                           identical pixels (mode and bytes)
#   psnr A B MIN                       PSNR of A against B above MIN dB
#   box SRC HALF                       HALF is the 2:1 area average of SRC
#                                      (edge boxes average what they hold,
#                                      rounded half up)
#   depth8 SRC OUT                     OUT (8-bit) is SRC (8- or 16-bit) at
#                                      8 bits: round(v / 257), within 1
#   jp2 FILE                           TLM in the main header, PLT in every
#                                      tile-part header; prints tiles
#   icc FILE                           prints the SHA-256 of the embedded
#                                      ICC profile (TIFF tag or JP2 colr)
import hashlib
import math
import re
import struct
import sys

from PIL import Image, ImageChops


def fail(msg):
    print(msg)
    sys.exit(1)


def levels(path, w, h, tile, comp):
    text = open(path).read()
    dirs = text.split("TIFF Directory")[1:]
    want = []
    lw, lh = w, h
    while True:
        want.append((lw, lh))
        if lw <= tile and lh <= tile:
            break
        lw, lh = (lw + 1) // 2, (lh + 1) // 2
    got = []
    for k, d in enumerate(dirs):
        m = re.search(r"Image Width: (\d+) Image Length: (\d+)", d)
        t = re.search(r"Tile Width: (\d+) Tile Length: (\d+)", d)
        c = re.search(r"Compression Scheme: (.+)", d)
        if not m or not t or not c:
            fail("directory %d: no size, tiles or compression" % k)
        if (int(t.group(1)), int(t.group(2))) != (tile, tile):
            fail("directory %d: tiles %sx%s" % (k, t.group(1), t.group(2)))
        if c.group(1).strip() != comp:
            fail("directory %d: compression %s" % (k, c.group(1)))
        reduced = "reduced-resolution image" in d
        if reduced != (k > 0):
            fail("directory %d: reduced mark %s" % (k, reduced))
        got.append((int(m.group(1)), int(m.group(2))))
    if got != want:
        fail("levels %s, want %s" % (got, want))
    print("%d levels %s" % (len(got), " ".join("%dx%d" % s for s in got)))


def load(path):
    return Image.open(path)


def same(a, b):
    ia, ib = load(a), load(b)
    if ia.size != ib.size or ia.mode != ib.mode:
        fail("%s %s vs %s %s" % (ia.size, ia.mode, ib.size, ib.mode))
    if ia.tobytes() != ib.tobytes():
        fail("pixels differ")
    print("identical %dx%d %s" % (ia.size[0], ia.size[1], ia.mode))


def psnr(a, b, lo):
    ia, ib = load(a), load(b)
    mode = "RGBA" if "A" in ia.mode or "A" in ib.mode else "RGB"
    ia, ib = ia.convert(mode), ib.convert(mode)
    if ia.size != ib.size:
        fail("sizes %s vs %s" % (ia.size, ib.size))
    hist = ImageChops.difference(ia, ib).histogram()
    se = sum((i % 256) ** 2 * n for i, n in enumerate(hist))
    count = ia.size[0] * ia.size[1] * len(mode)
    p = float("inf") if se == 0 else 10 * math.log10(255 * 255 * count / se)
    print("PSNR %.2f dB" % p)
    if p <= lo:
        sys.exit(1)


def box(src, half):
    s, g = load(src), load(half)
    if s.mode != g.mode or s.mode not in ("L", "RGB"):
        fail("modes %s %s" % (s.mode, g.mode))
    c = len(s.mode)
    w, h = s.size
    W, H = (w + 1) // 2, (h + 1) // 2
    if g.size != (W, H):
        fail("size %s, want %dx%d" % (g.size, W, H))
    d, o = s.tobytes(), g.tobytes()
    bad = 0
    for y in range(H):
        rows = [r for r in (2 * y, 2 * y + 1) if r < h]
        for x in range(W):
            cols = [q for q in (2 * x, 2 * x + 1) if q < w]
            n = len(rows) * len(cols)
            for b in range(c):
                t = sum(d[(r * w + q) * c + b] for r in rows for q in cols)
                if o[(y * W + x) * c + b] != (2 * t + n) // (2 * n):
                    bad += 1
    if bad:
        fail("%d samples differ from the 2:1 area average" % bad)
    print("2:1 area average of %dx%d" % (w, h))


def depth8(src, out):
    s, o = load(src), load(out)
    if s.size != o.size:
        fail("sizes %s vs %s" % (s.size, o.size))
    if o.mode != "L":
        fail("output mode %s" % o.mode)
    ov = o.tobytes()
    if s.mode == "L":
        sv = s.tobytes()
    else:
        sv = [(v + 128) // 257 for v in s.getdata()]
    worst = max(abs(a - b) for a, b in zip(sv, ov))
    if worst > 1:
        fail("8-bit samples off by up to %d" % worst)
    print("8-bit within %d (source %s)" % (worst, s.mode))


def codestream(path):
    d = open(path, "rb").read()
    if d[:4] == b"\xff\x4f\xff\x51":
        return d, None
    pos, cs, colr = 0, None, None
    while pos + 8 <= len(d):
        ln, typ = struct.unpack(">I4s", d[pos:pos + 8])
        hdr = 8
        if ln == 1:
            ln = struct.unpack(">Q", d[pos + 8:pos + 16])[0]
            hdr = 16
        elif ln == 0:
            ln = len(d) - pos
        body = d[pos + hdr:pos + ln]
        if typ == b"jp2h":
            i = 0
            while i + 8 <= len(body):
                bl, bt = struct.unpack(">I4s", body[i:i + 8])
                if bt == b"colr" and body[i + 8] == 2:
                    colr = body[i + 11:i + bl]
                i += bl
        if typ == b"jp2c":
            cs = body
        pos += ln
    if cs is None:
        fail("no codestream box")
    return cs, colr


def jp2(path):
    cs, _ = codestream(path)
    if cs[:2] != b"\xff\x4f":
        fail("no SOC")
    pos, tlm = 2, 0
    while True:
        m, ln = struct.unpack(">HH", cs[pos:pos + 4])
        if m == 0xFF90:
            break
        tlm += m == 0xFF55
        pos += 2 + ln
    if not tlm:
        fail("no TLM in the main header")
    parts = plt = 0
    while pos + 12 <= len(cs):
        m, ln, isot, psot = struct.unpack(">HHHI", cs[pos:pos + 10])
        if m == 0xFFD9:
            break
        if m != 0xFF90:
            fail("expected SOT at %d, got %04x" % (pos, m))
        parts += 1
        q, has = pos + 2 + ln, 0
        while True:
            mm = struct.unpack(">H", cs[q:q + 2])[0]
            if mm == 0xFF93:
                break
            has |= mm == 0xFF58
            q += 2 + struct.unpack(">H", cs[q + 2:q + 4])[0]
        plt += has
        pos += psot
    if parts == 0 or plt != parts:
        fail("%d tile-parts, %d with PLT" % (parts, plt))
    print("TLM, %d tile-parts each with PLT" % parts)


def icc(path):
    d = open(path, "rb").read(4)
    if d[:2] in (b"II", b"MM"):
        prof = Image.open(path).info.get("icc_profile")
    else:
        prof = codestream(path)[1]
    print(hashlib.sha256(prof).hexdigest() if prof else "none")


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "levels":
    levels(args[0], int(args[1]), int(args[2]), int(args[3]), args[4])
elif cmd == "same":
    same(*args)
elif cmd == "psnr":
    psnr(args[0], args[1], float(args[2]))
elif cmd == "box":
    box(*args)
elif cmd == "depth8":
    depth8(*args)
elif cmd == "jp2":
    jp2(args[0])
elif cmd == "icc":
    icc(args[0])
else:
    fail("unknown check " + cmd)
