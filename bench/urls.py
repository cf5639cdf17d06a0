#!/usr/bin/env python3
"""Write the URL lists of the benchmark workloads from an image's info.json.

usage: urls.py WORKLOAD INFO_JSON PREFIX OUT [SEED]
  tiles    every tile URL a viewer derives from info.json (IIIF 2 syntax, all
           scale factors), as PREFIX/x,y,w,h/w,/0/default.jpg
  regions  regions of 200-3000 px at random places scaled to !512,512
  thumbs   full/w,/0/default.jpg with w random in 100..1024
  info     PREFIX/info.json
"""
import json
import math
import random
import sys


def tiles(info, prefix):
    W, H = info["width"], info["height"]
    out = []
    for t in info["tiles"]:
        tw = t["width"]
        th = t.get("height", tw)
        for s in t["scaleFactors"]:
            rw, rh = tw * s, th * s
            for y in range(0, H, rh):
                for x in range(0, W, rw):
                    w = min(rw, W - x)
                    h = min(rh, H - y)
                    ow = math.ceil(w / s)
                    out.append(f"{prefix}/{x},{y},{w},{h}/{ow},/0/default.jpg")
    return out


def main():
    workload, info_path, prefix, out_path = sys.argv[1:5]
    rnd = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 42)
    with open(info_path) as f:
        info = json.load(f)
    W, H = info["width"], info["height"]
    if workload == "tiles":
        urls = tiles(info, prefix)
    elif workload == "regions":
        urls = []
        for _ in range(2000):
            w = rnd.randint(200, 3000)
            h = rnd.randint(200, 3000)
            x = rnd.randint(0, W - w)
            y = rnd.randint(0, H - h)
            urls.append(f"{prefix}/{x},{y},{w},{h}/!512,512/0/default.jpg")
    elif workload == "thumbs":
        urls = [f"{prefix}/full/{rnd.randint(100, 1024)},/0/default.jpg"
                for _ in range(2000)]
    elif workload == "info":
        urls = [f"{prefix}/info.json"]
    else:
        sys.exit(f"unknown workload {workload}")
    with open(out_path, "w") as f:
        f.write("\n".join(urls) + "\n")
    print(len(urls))


if __name__ == "__main__":
    main()
