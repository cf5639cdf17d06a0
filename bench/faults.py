#!/usr/bin/env python3
"""The arithmetic of bench/faults: URL lists, the nginx log, RSS samples.

usage:
  faults.py list OUT_URLS OUT_CLASSES SEED N SPEC...
      write the mixed workload: N lines drawn (seeded) from the URL groups of
      SPEC, each "CLASS:WEIGHT:FILE" (FILE: one URL path a line); OUT_CLASSES
      gets "CLASS URL" for every URL of every group (a URL in two groups keeps
      the first class).
  faults.py tiles INFO_JSON PREFIX [MAX]
      print the viewer tile URLs of an info.json (IIIF 2 syntax, every scale
      factor), at most MAX of them (evenly spread).
  faults.py regions INFO_JSON PREFIX SEED N
      print N regions of 200-3000 px scaled to !512,512 and N/4 thumbnails.
  faults.py report CLASSES LOG T0 T1 EXPECT...
      read the nginx log (format: msec status request_time "request_uri")
      between epoch seconds T0 and T1; EXPECT is "CLASS=S1,S2,..." (the
      statuses that class may answer). Prints one line per class with its
      counts by status, "P99 CLASS MS" lines, then "TOTAL n=... failed=...
      unexpected5xx=... cut_by_wrk_end=..." (499s of the last 1.5 s before T1
      or the first 1.5 s after T0: the requests a wrk run had in flight when
      it stopped).
  faults.py rss SAMPLES T0 T1
      SAMPLES lines are "epoch pid rss_kb"; prints the sum of the workers'
      RSS in the 2nd 10 s and in the last 10 s of [T0, T1] (the 2nd and
      last sixth when shorter than 60 s), their growth in per cent, and
      whether the set of workers changed.
"""
import collections
import json
import math
import random
import re
import sys


def cmd_tiles(info_path, prefix, limit=None):
    with open(info_path) as f:
        info = json.load(f)
    W, H = info["width"], info["height"]
    out = []
    for t in info.get("tiles", []):
        tw = t["width"]
        th = t.get("height", tw)
        for s in t["scaleFactors"]:
            rw, rh = tw * s, th * s
            for y in range(0, H, rh):
                for x in range(0, W, rw):
                    w, h = min(rw, W - x), min(rh, H - y)
                    ow = math.ceil(w / s)
                    out.append(f"{prefix}/{x},{y},{w},{h}/{ow},/0/default.jpg")
    if limit and len(out) > int(limit):
        step = len(out) / int(limit)
        out = [out[int(i * step)] for i in range(int(limit))]
    print("\n".join(out))


def cmd_regions(info_path, prefix, seed, n):
    with open(info_path) as f:
        info = json.load(f)
    W, H = info["width"], info["height"]
    rnd = random.Random(int(seed))
    out = []
    for _ in range(int(n)):
        w = rnd.randint(min(200, W), min(3000, W))
        h = rnd.randint(min(200, H), min(3000, H))
        x = rnd.randint(0, W - w)
        y = rnd.randint(0, H - h)
        out.append(f"{prefix}/{x},{y},{w},{h}/!512,512/0/default.jpg")
    for _ in range(max(1, int(n) // 4)):
        out.append(f"{prefix}/full/{rnd.randint(100, 1024)},/0/default.jpg")
    print("\n".join(out))


def cmd_list(out_urls, out_classes, seed, n, *spec):
    rnd = random.Random(int(seed))
    groups = []
    classes = {}
    for s in spec:
        cls, weight, path = s.split(":", 2)
        with open(path) as f:
            urls = [u.strip() for u in f if u.strip()]
        if not urls:
            sys.exit(f"faults.py: no URL in {path} ({cls})")
        groups.append((cls, float(weight), urls))
        for u in urls:
            classes.setdefault(u, cls)
    total = sum(g[1] for g in groups)
    lines = []
    for cls, weight, urls in groups:
        k = max(1, round(int(n) * weight / total))
        lines += [rnd.choice(urls) for _ in range(k)]
    rnd.shuffle(lines)
    with open(out_urls, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(out_classes, "w") as f:
        for u, c in classes.items():
            f.write(f"{c} {u}\n")


LOG_RE = re.compile(r'^(\S+) (\d+) (\S+) "([^"]*)"')


def cmd_report(classes_path, log_path, t0, t1, *expect):
    t0, t1 = float(t0), float(t1)
    classes = {}
    with open(classes_path) as f:
        for line in f:
            c, u = line.rstrip("\n").split(" ", 1)
            classes[u] = c
    ok = {}
    for e in expect:
        c, sts = e.split("=", 1)
        ok[c] = {int(s) for s in sts.split(",") if s}
    counts = collections.defaultdict(collections.Counter)
    cut = 0
    times = collections.defaultdict(list)
    with open(log_path, errors="replace") as f:
        for line in f:
            m = LOG_RE.match(line)
            if not m:
                continue
            t = float(m.group(1))
            if t < t0 or t > t1:
                continue
            c = classes.get(m.group(4), "other")
            st = int(m.group(2))
            if st == 499 and (t > t1 - 1.5 or t < t0 + 1.5):
                # wrk closes its connections at the end of its run: the
                # requests then in flight end as 499, lost by no server
                # (those of the run before this phase's are logged just
                # after T0)
                cut += 1
                continue
            counts[c][st] += 1
            times[c].append(float(m.group(3)) * 1000.0)
    n = failed = bad5xx = 0
    for c in sorted(counts):
        cnt = counts[c]
        allowed = ok.get(c, {200})
        nf = sum(v for s, v in cnt.items() if s not in allowed)
        n5 = sum(v for s, v in cnt.items() if s not in allowed and s >= 500)
        n += sum(cnt.values())
        failed += nf
        bad5xx += n5
        by = " ".join(f"{s}:{v}" for s, v in sorted(cnt.items()))
        print(f"CLASS {c} n={sum(cnt.values())} failed={nf} "
              f"unexpected5xx={n5} statuses {by}")
    for c in sorted(times):
        ts = sorted(times[c])
        p = ts[min(len(ts) - 1, int(math.ceil(len(ts) * 0.99)) - 1)]
        print(f"P99 {c} {p:.0f} max={ts[-1]:.0f} p50={ts[len(ts) // 2]:.0f}")
    print(f"TOTAL n={n} failed={failed} unexpected5xx={bad5xx} "
          f"cut_by_wrk_end={cut}")


def cmd_rss(samples_path, t0, t1):
    t0, t1 = float(t0), float(t1)
    per_t = collections.defaultdict(dict)
    with open(samples_path) as f:
        for line in f:
            p = line.split()
            if len(p) != 3:
                continue
            t = float(p[0])     # one time per sweep of the workers
            if t0 <= t <= t1:
                per_t[t][p[1]] = int(p[2])
    if not per_t:
        print("RSS none")
        return
    ts = sorted(per_t)
    # the 2nd and the last 10 s of a 60 s phase; in a shorter one, the
    # same shares (from 1/6 for 1/6 of the phase, and its last 1/6)
    span = min(10.0, (t1 - t0) / 6.0)
    a = t0 + span
    early = [sum(per_t[t].values()) for t in ts if a <= t < a + span]
    late = [sum(per_t[t].values()) for t in ts if t > t1 - span]
    pids = [frozenset(per_t[t]) for t in ts]
    same = all(p == pids[0] for p in pids)
    if not early or not late:
        print("RSS too-short")
        return
    # medians: one sample caught in the middle of a large decode is not
    # growth
    e = sorted(early)[len(early) // 2] / 1024.0
    la = sorted(late)[len(late) // 2] / 1024.0
    peak = max(sum(v.values()) for v in per_t.values()) / 1024.0
    print(f"RSS second10s={e:.1f}MB last10s={la:.1f}MB "
          f"growth={100.0 * (la - e) / e:.1f}% peak={peak:.1f}MB "
          f"samples={len(ts)} same_workers={'yes' if same else 'no'}")


def main():
    cmds = {"list": cmd_list, "tiles": cmd_tiles, "regions": cmd_regions,
            "report": cmd_report, "rss": cmd_rss}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
