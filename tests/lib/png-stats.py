#!/usr/bin/env python3
"""png-stats FILE [NAME=RRGGBB ...]: decode an 8-bit RGB/RGBA PNG (zlib and
the five row filters, no imaging library needed) and print one line
"WxH colours=N nonwhite=N dark=N text=N NAME=N ...", where NAME counts the
pixels within 24 of that colour on each channel. nonwhite: channel sum
< 735; dark: < 450 (text and lines); text (kept for the scorecard test):
< 200. Exit 1 when FILE is not such a PNG. Tests decide what is "blank"."""
import struct, sys, zlib

def decode(path):
    b = open(path, "rb").read()
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    i, idat, hdr = 8, b"", None
    while i < len(b):
        n, t = struct.unpack(">I4s", b[i:i + 8])
        c = b[i + 8:i + 8 + n]
        if t == b"IHDR":
            hdr = struct.unpack(">IIBB", c[:10])
        elif t == b"IDAT":
            idat += c
        i += 12 + n
    if hdr is None or hdr[2] != 8 or hdr[3] not in (2, 6):
        raise ValueError("PNG type %r" % (hdr,))
    w, h, _, ctype = hdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            up = prev[x]
            ul = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + up) & 255
            elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - ul
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - ul)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        yield w, h, [tuple(line[x:x + 3]) for x in range(0, stride, bpp)]
        prev = line

def main():
    want = [(k, tuple(int(v[j:j + 2], 16) for j in (0, 2, 4)))
            for k, v in (a.split("=", 1) for a in sys.argv[2:])]
    count = {k: 0 for k, _ in want}
    colours, nonwhite, dark, text, w, h = set(), 0, 0, 0, 0, 0
    try:
        for w, h, px in decode(sys.argv[1]):
            for p in px:
                colours.add(p)
                s = p[0] + p[1] + p[2]
                nonwhite += s < 735
                dark += s < 450
                text += s < 200
                for k, c in want:
                    if all(abs(p[j] - c[j]) < 24 for j in range(3)):
                        count[k] += 1
    except (ValueError, OSError, zlib.error, struct.error) as e:
        print("png-stats: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    print("%dx%d colours=%d nonwhite=%d dark=%d text=%d%s" % (w, h, len(colours),
          nonwhite, dark, text, "".join(" %s=%d" % (k, count[k]) for k, _ in want)))
    return 0

sys.exit(main())
