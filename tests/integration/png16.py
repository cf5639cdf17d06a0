#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# png16: an independent PNG decoder for t_depth16 (zlib and the PNG spec
# only: no libpng, no Pillow), for 8- and 16-bit grey, grey+alpha, RGB and
# RGBA, non-interlaced.
#   png16.py FILE info               -> "BITS BANDS W H"
#   png16.py FILE px X Y             -> the samples of pixel (X, Y)
#   png16.py FILE cmp EXPR [TOL [X0 Y0 X1 Y1]]
#       -> how many samples of [X0, X1) x [Y0, Y1) differ from EXPR (a
#          Python expression of x, y, b) by more than TOL, and the first
import struct
import sys
import zlib

BANDS = {0: 1, 4: 2, 2: 3, 6: 4}


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, bits, ctype, _, _, interlace = hdr
    if ctype not in BANDS or bits not in (8, 16) or interlace:
        raise SystemExit("unsupported PNG kind")
    nb = BANDS[ctype]
    bpp = nb * bits // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(line)
        prev = line
    px = []
    for line in rows:
        if bits == 16:
            px.append(list(struct.unpack(">%dH" % (w * nb), bytes(line))))
        else:
            px.append(list(line))
    return bits, nb, w, h, px


def main():
    bits, nb, w, h, px = decode(sys.argv[1])
    mode = sys.argv[2]
    if mode == "info":
        print(bits, nb, w, h)
    elif mode == "px":
        x, y = int(sys.argv[3]), int(sys.argv[4])
        print(" ".join(str(v) for v in px[y][x * nb:(x + 1) * nb]))
    elif mode == "cmp":
        expr = compile(sys.argv[3], "expr", "eval")
        tol = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        x0, y0, x1, y1 = (0, 0, w, h)
        if len(sys.argv) > 8:
            x0, y0, x1, y1 = (int(v) for v in sys.argv[5:9])
        bad, first = 0, ""
        for y in range(y0, y1):
            for x in range(x0, x1):
                for b in range(nb):
                    want = eval(expr, {"x": x, "y": y, "b": b, "nb": nb})
                    got = px[y][x * nb + b]
                    if abs(got - want) > tol:
                        if not bad:
                            first = " first (%d,%d) band %d: %d, want %d" % (
                                x, y, b, got, want)
                        bad += 1
        print("%d%s" % (bad, first))


main()
