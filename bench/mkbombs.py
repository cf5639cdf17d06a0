#!/usr/bin/env python3
"""Write tiny JPEG 2000 codestreams that declare a huge image ("bombs").

usage: mkbombs.py DIR

Each file is a valid codestream of well under 200 bytes: SOC, SIZ, COD, QCD,
one tile-part of empty packets, EOC. The decoder sees a 65535x65535 image
and has nothing to read, so all the cost is in what it allocates and
computes for the declared geometry, which is what a decode budget has to
refuse before decoding:

  bomb-16.j2k      65535x65535, 1 component of 16 bits, 5 levels
  bomb-0lvl.j2k    the same with 0 decomposition levels (one resolution:
                   no reduced level to decode from, every size decodes all)
  bomb-rgb.j2k     65535x65535, 3 components of 16 bits, 5 levels
  bomb-tiles.j2k   65535x65535 in 512x512 tiles (16384 tiles declared,
                   one present), 1 component of 8 bits, 0 levels

No dependency beyond Python's standard library (bench/faults and
tests/integration/t_faults.sh call it at run time).
"""
import os
import struct
import sys


def codestream(w, h, comps, bits, levels, tile=None):
    tw, th = tile if tile else (w, h)
    siz = struct.pack(">HIIIIIIIIH", 0, w, h, 0, 0, tw, th, 0, 0, comps)
    for _ in range(comps):
        siz += struct.pack(">BBB", bits - 1, 1, 1)
    out = b"\xff\x4f"                                   # SOC
    out += b"\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz
    # COD: no precincts, LRCP, 1 layer, no MCT, 64x64 code-blocks, 5/3
    cod = struct.pack(">BBHBBBBBB", 0, 0, 1, 0, levels, 4, 4, 0, 1)
    out += b"\xff\x52" + struct.pack(">H", 2 + len(cod)) + cod
    # QCD: no quantisation, 2 guard bits, one exponent per sub-band
    qcd = bytes([0x40]) + bytes([(bits + 1) << 3]) * (3 * levels + 1)
    out += b"\xff\x5c" + struct.pack(">H", 2 + len(qcd)) + qcd
    # one tile-part of tile 0: an empty packet (a 0 byte) per resolution
    # and component
    body = b"\x00" * ((levels + 1) * comps)
    psot = 12 + 2 + len(body)
    out += b"\xff\x90" + struct.pack(">HHIBB", 10, 0, psot, 0, 1)
    out += b"\xff\x93" + body
    out += b"\xff\xd9"                                  # EOC
    return out


BOMBS = {
    "bomb-16.j2k": (65535, 65535, 1, 16, 5, None),
    "bomb-0lvl.j2k": (65535, 65535, 1, 16, 0, None),
    "bomb-rgb.j2k": (65535, 65535, 3, 16, 5, None),
    "bomb-tiles.j2k": (65535, 65535, 1, 8, 0, (512, 512)),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2])
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, args in BOMBS.items():
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(codestream(*args))
        print(name)


if __name__ == "__main__":
    main()
