#!/usr/bin/env python3
"""Renders the --plot SVG of a synthetic run to PNG and checks it as a reader sees it.

    plot_render_test.py ping|heartbeat|long|lossy|empty

Environment: PLOT_RENDER_GEN (the generator built by meson), RSVG_CONVERT (rsvg-convert,
Debian librsvg2-bin; empty when meson did not find it: the test is skipped with exit 77).
Standard library only: the PNG is decoded with zlib + struct.

Where things are in the picture is read from the SVG itself (the tick labels of the time
axis, the plot area, the legend box), so the checks do not repeat the renderer's layout.
rsvg-convert renders one SVG user unit per pixel.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

SVG_NS = "{http://www.w3.org/2000/svg}"

# Elements and attributes of SVG 1.1 that the plot may use; anything else (an SVG 2
# feature, a data-* attribute) would make the document invalid SVG 1.1.
SVG11_ELEMENTS = {"svg", "g", "title", "desc", "rect", "circle", "line", "path", "text"}
SVG11_ATTRIBUTES = {
    "id", "class", "x", "y", "width", "height", "viewBox", "version", "font-family",
    "font-size", "font-weight", "text-anchor", "fill", "fill-opacity", "stroke",
    "stroke-width", "stroke-dasharray", "transform", "cx", "cy", "r", "x1", "y1", "x2",
    "y2", "d",
}


UNIT_SECONDS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# --- PNG decoding (8-bit RGB/RGBA, not interlaced: what rsvg-convert writes) ---

def decode_png(path):
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            check(depth == 8 and ctype in (2, 6) and interlace == 0,
                  f"{path}: PNG depth {depth} colour type {ctype} interlace {interlace}"
                  " (the decoder reads 8-bit RGB/RGBA, not interlaced)")
        elif kind == b"IDAT":
            idat += body
    check(width is not None, f"{path}: no IHDR")
    bpp = 4 if ctype == 6 else 3
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif f != 0:
                fail(f"{path}: PNG filter {f}")
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


# --- Colours as the renderer draws them (solid marks; anti-aliased edges don't count) ---

def is_red(p):      # lost: #d62728
    return p[0] > 180 and p[1] < 80 and p[2] < 80


def is_orange(p):   # late: #ff7f0e
    return p[0] > 220 and 90 < p[1] < 170 and p[2] < 60


def is_blue(p):     # reply: #1f77b4
    return p[2] > 140 and p[0] < 90 and 90 < p[1] < 150


def is_dark(p):     # timeout line: #333333
    return max(p) < 90 and max(p) - min(p) < 10


def is_shade(p):    # down: #888888 at 30% over white (219), or over a grid line (207)
    return 198 <= p[0] <= 228 and max(p) - min(p) < 4


class Picture:
    def __init__(self, png):
        self.width, self.height, self.rows = decode_png(png)

    def columns(self, pred, x0, x1, y0, y1):
        """The x in [x0, x1) with a pixel matching pred in rows [y0, y1)."""
        x0, x1, y0, y1 = max(0, int(x0)), min(self.width, int(x1)), max(0, int(y0)), min(
            self.height, int(y1))
        return sorted(x for x in range(x0, x1) if any(pred(self.rows[y][x]) for y in range(y0, y1)))

    def count(self, pred, x0, x1, y0, y1):
        return sum(1 for y in range(int(y0), int(y1)) for x in range(int(x0), int(x1))
                   if pred(self.rows[y][x]))


def by_id(root, ident):
    for e in root.iter():
        if e.get("id") == ident:
            return e
    return None


def box(root, ident):
    e = by_id(root, ident)
    check(e is not None, f"no element id={ident}")
    return tuple(float(e.get(k)) for k in ("x", "y", "width", "height"))


def check_svg11(root):
    check(root.tag == SVG_NS + "svg" and root.get("version") == "1.1",
          "root is not <svg version=1.1>")
    ids = set()
    for e in root.iter():
        check(e.tag.startswith(SVG_NS), f"element {e.tag} outside the SVG namespace")
        name = e.tag[len(SVG_NS):]
        check(name in SVG11_ELEMENTS, f"<{name}> is not an element the plot should use")
        for a in e.attrib:
            check(a in SVG11_ATTRIBUTES, f"<{name} {a}=...> is not an SVG 1.1 attribute we use")
        if e.get("id"):
            check(e.get("id") not in ids, f"duplicate id {e.get('id')}")
            ids.add(e.get("id"))


def check_timeout_label(root, pic, ty, area):
    """The -W line's label is there to be read: its text lies inside the plot area (not
    over the lost lane, which would cover it) and its glyphs show as dark pixels, apart
    from the dashed line's own rows."""
    label = by_id(root, "timeout-label")
    check(label is not None, "the timeout line has no label")
    ax, ay, aw, ah = area
    size = float(label.get("font-size"))
    base, anchor_x = float(label.get("y")), float(label.get("x"))
    check(label.get("text-anchor") == "end", "the timeout label is not anchored at its end")
    # DejaVu Sans: glyphs reach ~0.76 em above the baseline, ~0.24 em below; ~0.6 em wide.
    top, bottom = base - 0.8 * size, base + 0.25 * size
    width = 0.6 * size * len(label.text)
    check(ay <= top and bottom <= ay + ah and ax <= anchor_x - width,
          f"the timeout label ({anchor_x - width:.0f}..{anchor_x:.0f}, {top:.0f}..{bottom:.0f})"
          f" is not inside the plot area ({ax:.0f}..{ax + aw:.0f}, {ay:.0f}..{ay + ah:.0f})")
    # Rows of the 2 px line (ty - 1, ty) and their anti-aliased neighbours are not text.
    rows = [y for y in range(int(top), int(bottom) + 1) if abs(y - round(ty) + 0.5) > 2]
    dark = sum(pic.count(is_dark, anchor_x - width, anchor_x, y, y + 1) for y in rows)
    check(dark >= 3 * len(label.text),
          f"the timeout label {label.text!r} at y={base:.0f} shows {dark} dark pixels:"
          " hidden by what is drawn over it")


def main():
    scenario = sys.argv[1]
    gen, rsvg = os.environ["PLOT_RENDER_GEN"], os.environ.get("RSVG_CONVERT", "")
    if not rsvg:
        print("SKIP: rsvg-convert not found (Debian package librsvg2-bin; ./dev.sh installs it)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        svg_path, png_path = os.path.join(tmp, "plot.svg"), os.path.join(tmp, "plot.png")
        gen_run = subprocess.run([gen, scenario, svg_path], capture_output=True, text=True,
                                 timeout=30)
        check(gen_run.returncode == 0, f"generator failed: {gen_run.stderr.strip()}")
        facts = json.loads(gen_run.stdout)
        try:
            root = ET.parse(svg_path).getroot()
        except ET.ParseError as e:
            fail(f"the SVG is not well-formed XML: {e}")
        check_svg11(root)
        conv = subprocess.run([rsvg, "-o", png_path, svg_path], capture_output=True, text=True,
                              timeout=60)
        check(conv.returncode == 0, f"rsvg-convert failed: {conv.stderr.strip()}")
        if os.environ.get("PLOT_RENDER_KEEP"):
            keep = os.environ["PLOT_RENDER_KEEP"]
            open(keep, "wb").write(open(png_path, "rb").read())
        pic = Picture(png_path)
        check_picture(root, pic, facts, scenario)
    print(f"ok: {scenario}")


def check_picture(root, pic, facts, scenario):
    width_attr, height_attr = float(root.get("width")), float(root.get("height"))
    check((pic.width, pic.height) == (width_attr, height_attr),
          f"PNG is {pic.width}x{pic.height}, SVG says {width_attr}x{height_attr}")

    # The time axis: its first and last tick labels give the mapping seconds -> pixels,
    # in the unit its title names.
    texts = list(by_id(root, "x-axis").iter(SVG_NS + "text"))
    titles = [t.text for t in texts if t.get("class") != "tick"]
    check(len(titles) == 1 and titles[0].endswith(")"), f"time axis title {titles}")
    unit = titles[0][titles[0].rindex("(") + 1:-1]
    check(unit in UNIT_SECONDS, f"time axis unit {unit!r}")
    ticks = [(float(t.text) * UNIT_SECONDS[unit], float(t.get("x"))) for t in texts
             if t.get("class") == "tick"]
    check(len(ticks) >= 2, "the time axis has fewer than 2 tick labels")
    (t0, x0), (t1, x1) = ticks[0], ticks[-1]
    dur = facts["duration"]
    check(t0 == 0 and abs(t1 - dur) < 1e-9 * dur, f"time axis runs {t0}..{t1} s, the run {dur} s")

    def px(seconds):
        return x0 + (x1 - x0) * (seconds - t0) / (t1 - t0)

    ax, ay, aw, ah = box(root, "data-area")
    check(abs(ax - x0) < 0.5 and abs(ax + aw - x1) < 0.5,
          "the time axis does not span the plot area exactly")
    lx, ly, lw, lh = box(root, "lost-lane")
    # Inner pixels only: the frame lines are grey, anti-aliased edges are mixed colours.
    inner = (ax + 2, ax + aw - 1)

    # Losses: red in the lost lane at each send time, nowhere else; none after the last
    # probe was sent (the old plot drew them one timeout later, past the run).
    red = pic.columns(is_red, inner[0] - 2, inner[1] + 2, ly, ly + lh)
    losses = facts["losses"]
    for t in losses:
        check(any(abs(x - px(t)) <= 2 for x in red), f"no red mark at the loss sent at {t} s")
    for x in red:
        check(any(abs(x - px(t)) <= 2.5 for t in losses),
              f"red in the lost lane at x={x} ({(x - x0) / (x1 - x0) * (t1 - t0):.3f} s):"
              " no loss was sent there")
    if losses:
        check(max(red) <= px(max(losses)) + 2.5, "red marks after the last loss's send time")
    a, b = facts["loss_range"]
    if a >= 0:  # every probe sent in [a, b] was lost: one solid red run, no holes
        holes = [x for x in range(int(px(a)) + 1, int(px(b))) if x not in set(red)]
        check(not holes, f"the outage {a}..{b} s has no red at x={holes[:5]}")
    check(not pic.columns(is_red, ax + 2, ax + aw - 1, ay + 1, ay + ah - 1),
          "red inside the RTT plot: losses belong in the lost lane")

    # Late replies: orange at their send time, above the timeout line.
    timeout_line = by_id(root, "timeout-line")
    orange = pic.columns(is_orange, *inner, ay, ay + ah)
    for t in facts["late_sent"]:
        check(any(abs(x - px(t)) <= 5 for x in orange),
              f"no orange mark at the late reply sent at {t} s")
    for x in orange:
        check(any(abs(x - px(t)) <= 6 for t in facts["late_sent"]),
              f"orange at x={x}: no late reply was sent there")
    if facts["timeout"] > 0:
        check(timeout_line is not None, "no timeout line")
        ty = float(timeout_line.get("y1"))
        rows_orange = [y for y in range(int(ay), int(ay + ah))
                       if any(is_orange(pic.rows[y][x]) for x in orange)]
        if facts["late_sent"]:
            check(max(rows_orange) < ty, "a late reply is drawn below the timeout line")
        # The dashed line: dark along ~60% of its row (6 on, 4 off).
        dark = pic.count(is_dark, ax + 1, ax + aw - 1, round(ty), round(ty) + 1)
        check(0.4 * aw < dark < 0.8 * aw,
              f"timeout row has {dark} dark pixels of {aw:.0f}: not a dashed line")
        check_timeout_label(root, pic, ty, (ax, ay, aw, ah))
    else:
        check(timeout_line is None, "a timeout line without a timeout")

    # On-time replies: blue in the plot, below the timeout line.
    blue = pic.columns(is_blue, *inner, ay, ay + ah)
    if scenario == "empty":
        check(not blue and not orange and not red, "marks drawn for a run that recorded nothing")
    elif facts["replies"] > 0:
        check(len(blue) > 100, f"only {len(blue)} columns with replies")
    else:
        check(not blue, "blue marks for a run that had no reply")

    # Down periods: a grey band spanning the period's x range over the plot's height.
    shaded = [x for x in range(int(inner[0]), int(inner[1]))
              if sum(is_shade(pic.rows[y][x]) for y in range(int(ay) + 2, int(ay + ah) - 2))
              > 0.6 * (ah - 4)]
    if facts["down"]:
        (d0, d1), = facts["down"]
        check(shaded, "no shaded down band")
        check(abs(min(shaded) - px(d0)) <= 2 and abs(max(shaded) - px(d1)) <= 2,
              f"down band spans x {min(shaded)}..{max(shaded)},"
              f" the period {px(d0):.1f}..{px(d1):.1f}")
        check(len(shaded) >= (px(d1) - px(d0)) - 3, "the down band has holes")
    else:
        check(not shaded, "a shaded band without a down period")

    # The legend shows a swatch of each kind of mark drawn, and only those.
    legend = by_id(root, "legend")
    if scenario == "empty":
        check(legend is None, "a legend with nothing to name")
        return
    bx, by, bw, bh = box(root, "legend-box")
    want = {"reply": (is_blue, facts["replies"] > 0),
            "late": (is_orange, bool(facts["late_sent"])),
            "lost": (is_red, bool(losses)), "timeout": (is_dark, facts["timeout"] > 0),
            "down": (is_shade, bool(facts["down"]))}
    for name, (pred, present) in want.items():
        entry = by_id(root, "legend-" + name)
        check((entry is not None) == present,
              f"legend entry {name} {'missing' if present else 'present without such marks'}")
        if entry is None:
            continue
        # The swatch is centred 13 px left of its label's start, 4 px above its baseline.
        label = entry.find(SVG_NS + "text")
        cx, cy = float(label.get("x")) - 13, float(label.get("y")) - 4
        n = pic.count(pred, cx - 7, cx + 8, cy - 7, cy + 8)
        check(n >= 6, f"legend swatch for {name} at ({cx:.0f}, {cy:.0f}) lacks its colour ({n} px)")
    # No chromatic colour in the legend for a mark that is not drawn (text is black).
    for name, pred in (("late", is_orange), ("lost", is_red)):
        if not want[name][1]:
            check(pic.count(pred, bx, bx + bw, by, by + bh) == 0, f"{name} colour in the legend")

if __name__ == "__main__":
    main()
