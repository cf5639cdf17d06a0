#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# flat_check VELLUM FIXTURES/flat TMP: pixel checks of flat JPEG and PNG
# sources through `vellum render`, one TAP line each. PNG outputs are read
# by the small reader below (so 16-bit outputs are seen as they are); the
# expected PNG samples are those mkflat.py wrote; JPEGs are compared with
# Pillow's decode of the same file (libjpeg-turbo both: exact at full
# size, within 2 of Pillow's DCT-scaled draft decode).
import os, struct, subprocess, sys, zlib

from PIL import Image, ImageOps

VELLUM, FX, TMP = sys.argv[1:4]
fails = 0


def check(desc, ok, why=""):
    global fails
    print(("ok - " if ok else "not ok - ") + desc
          + ("" if ok or not why else f" ({why})"))
    fails += 0 if ok else 1


def render(name, req, ext="png"):
    out = os.path.join(TMP, "out." + ext)
    if os.path.exists(out):
        os.unlink(out)
    r = subprocess.run([VELLUM, "render", os.path.join(FX, name),
                        req, "-o", out], capture_output=True, text=True)
    return (out if r.returncode == 0 else None), r.stderr.strip()


def read_png(path):
    """(w, h, bands, bits, samples) of a non-interlaced 8/16-bit PNG."""
    d = open(path, "rb").read()
    pos, idat, w = 8, b"", None
    while pos < len(d):
        n, t = struct.unpack(">I4s", d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            w, h, bits, ctype, _, _, il = struct.unpack(">IIBBBBB", body)
        elif t == b"IDAT":
            idat += body
        pos += 12 + n
    assert il == 0 and bits in (8, 16)
    bands = {0: 1, 4: 2, 2: 3, 6: 4}[ctype]
    bpp = bands * bits // 8
    raw, stride = zlib.decompress(idat), w * bpp
    prev, out = bytearray(stride), []
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
                line[i] = (line[i] + (a if pa <= pb and pa <= pc
                                      else b if pb <= pc else c)) & 255
        prev = line
        if bits == 8:
            out += line
        else:
            out += [line[i] << 8 | line[i + 1] for i in range(0, stride, 2)]
    return w, h, bands, bits, out


def load_expect(name):
    with open(os.path.join(FX, name + ".expect")) as f:
        w, h, bands, bits = map(int, f.readline().split())
        return w, h, bands, bits, list(map(int, f.readline().split()))


def to8(v):
    return (v * 255 + 32767) // 65535


def crop(px, w, bands, x, y, cw, ch):
    return [px[(yy * w + xx) * bands + c] for yy in range(y, y + ch)
            for xx in range(x, x + cw) for c in range(bands)]


def shrink2(px, w, h, bands):
    ow, oh = (w + 1) // 2, (h + 1) // 2
    out = []
    for y in range(oh):
        for x in range(ow):
            for c in range(bands):
                s = n = 0
                for yy in range(2 * y, min(2 * y + 2, h)):
                    for xx in range(2 * x, min(2 * x + 2, w)):
                        s += px[(yy * w + xx) * bands + c]
                        n += 1
                out.append((s + n // 2) // n)
    return ow, oh, out


# ---------------------------------------------------------------- PNG
pngs = sorted(n[:-7] for n in os.listdir(FX) if n.endswith(".png.expect"))
for name in pngs:
    w, h, bands, bits, exp = load_expect(name)
    out, msg = render(name, "full/max/0/default.png")
    if out is None:
        check(f"{name}: renders", False, msg)
        continue
    ow, oh, ob, obits, got = read_png(out)
    check(f"{name}: {w}x{h}, {bands} bands", (ow, oh, ob) == (w, h, bands),
          f"got {ow}x{oh}, {ob} bands")
    e8 = [to8(v) for v in exp] if bits == 16 and obits == 8 else exp
    check(f"{name}: every sample exact ({obits}-bit out)", got == e8,
          f"{sum(a != b for a, b in zip(got, e8))} differ")
    # a region across the grid blocks' edges
    out, msg = render(name, "250,240,40,45/max/0/default.png")
    if out is not None:
        _, _, _, obits, got = read_png(out)
        e = crop(exp, w, bands, 250, 240, 40, 45)
        e = [to8(v) for v in e] if bits == 16 and obits == 8 else e
        check(f"{name}: region 250,240,40,45 exact", got == e)
    else:
        check(f"{name}: region renders", False, msg)
    # the half-size level: the area average of the 8-bit samples
    if True:
        e8 = [to8(v) for v in exp] if bits == 16 else exp
        sw, sh, se = shrink2(e8, w, h, bands)
        out, msg = render(name, f"full/{sw},/0/default.png")
        if out is not None:
            ow, oh, _, obits, got = read_png(out)
            if obits == 16:
                check(f"{name}: level 1/2 (16-bit out)", (ow, oh) == (sw, sh))
            else:
                check(f"{name}: level 1/2 {sw}x{sh} is the 2x2 mean",
                      (ow, oh) == (sw, sh) and got == se,
                      f"{ow}x{oh}, {sum(a != b for a, b in zip(got, se))}"
                      " differ")
        else:
            check(f"{name}: level 1/2 renders", False, msg)

# ---------------------------------------------------------------- JPEG


def pil_png(path):
    im = Image.open(path)
    im.load()
    return im


def diff(a, b):
    if a.size != b.size or a.mode != b.mode:
        return 999
    return max(max(abs(x - y) for x, y in zip(p, q)) if isinstance(p, tuple)
               else abs(p - q) for p, q in zip(a.getdata(), b.getdata()))


for name in ("rgb.jpg", "prog.jpg", "grey.jpg", "cmyk.jpg", "big.jpg"):
    ref = Image.open(os.path.join(FX, name))
    ref.load()
    ref = ref.convert("RGB") if ref.mode == "CMYK" else ref
    out, msg = render(name, "full/max/0/default.png")
    if out is None:
        check(f"{name}: renders", False, msg)
        continue
    got = pil_png(out)
    check(f"{name}: full size equals Pillow's decode", diff(got, ref) == 0,
          f"max diff {diff(got, ref)}")
    out, msg = render(name, "333,257,100,180/max/0/default.png")
    got = pil_png(out) if out else None
    check(f"{name}: region equals Pillow's", got is not None
          and diff(got, ref.crop((333, 257, 433, 437))) == 0)
    for s in (2, 4, 8):
        lw, lh = -(-ref.size[0] // s), -(-ref.size[1] // s)
        out, msg = render(name, f"full/{lw},/0/default.png")
        d = Image.open(os.path.join(FX, name))
        d.draft(d.mode, (ref.size[0] // s, ref.size[1] // s))
        d = d.convert("RGB") if d.mode == "CMYK" else d
        got = pil_png(out) if out else None
        dd = diff(got, d) if got is not None else 999
        check(f"{name}: DCT 1/{s} ({lw}x{lh}) within 2 of Pillow's draft",
              got is not None and got.size == (lw, lh) and dd <= 2,
              f"max diff {dd}")

for o in range(1, 9):
    name = f"orient-{o}.jpg"
    ref = ImageOps.exif_transpose(Image.open(os.path.join(FX, name)))
    out, msg = render(name, "full/max/0/default.png")
    got = pil_png(out) if out else None
    check(f"{name}: upright {ref.size[0]}x{ref.size[1]}, pixels exact",
          got is not None and diff(got, ref) == 0,
          msg if got is None else f"{got.size}, diff {diff(got, ref)}")
    out, msg = render(name, "50,20,130,90/max/0/default.png")
    got = pil_png(out) if out else None
    check(f"{name}: region of the upright image exact",
          got is not None and diff(got, ref.crop((50, 20, 180, 110))) == 0)

# read from the bottom up (render flips its strips): the same pixels
for name in ("big.jpg", "big.png"):
    ref = Image.open(os.path.join(FX, name)).convert("RGB")
    out, msg = render(name, "full/max/180/default.png")
    got = pil_png(out) if out else None
    check(f"{name}: turned 180 degrees, pixels exact",
          got is not None and diff(got, ref.rotate(180)) == 0, msg)

icc = open(os.path.join(FX, "icc.bin"), "rb").read()
for name, ext in (("icc.jpg", "jpg"), ("icc.png", "png")):
    out, msg = render(name, "full/200,/0/default." + ext, ext)
    got = Image.open(out).info.get("icc_profile") if out else None
    check(f"{name}: the output embeds the source's profile", got == icc)

for name, want in (("trunc-rgb.jpg", "end of JPEG"),
                   ("trunc-big.png", "ended early"),
                   ("huge.png", "beyond the limits"),
                   ("huge-prog.jpg", "beyond the limit")):
    out, msg = render(name, "full/max/0/default.png")
    check(f"{name}: refused with a reason", out is None and want in msg
          and "\n" not in msg and FX not in msg, msg)

# a single-level strip TIFF (not JPEG) gets area-averaged levels too
name = "../strip.tif"
out, msg = render(name, "full/max/0/default.png")
if out is not None:
    w, h, bands, _, full = read_png(out)
    sw, sh, se = shrink2(full, w, h, bands)
    out, msg = render(name, f"full/{sw},/0/default.png")
    got = read_png(out) if out else None
    check(f"strip.tif: level 1/2 {sw}x{sh} is the 2x2 mean of level 0",
          got is not None and got[:2] == (sw, sh) and got[4] == se, msg)
else:
    check("strip.tif renders", False, msg)

print(f"# {fails} failed")
sys.exit(1 if fails else 0)
