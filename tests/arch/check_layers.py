#!/usr/bin/env python3
"""Checks every #include in src/ and include/ against the layer DAG that ARCHITECTURE.md
declares (its ```layers block), and that no header outside the io layer reaches
<liburing.h>, directly or through other headers.

    check_layers.py SOURCE_ROOT            check the tree; exit 1 naming file:line
    check_layers.py --self-test SOURCE_ROOT
                                           copy the tree, add an upward include
                                           (core's proto including report/), and check
                                           that the checker refuses it

The block lists one layer per line, `layer: folder folder ... -> lower-layer ...`. A
file may include headers of its own layer or of any layer reachable downward; anything
else (upward, or sideways to a layer that is not below) is an error. Libraries are
pinned too: a `lib` line names an include prefix and the layers allowed to use it."""

import os
import re
import shutil
import sys
import tempfile

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def parse_architecture(root):
    path = os.path.join(root, "ARCHITECTURE.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"```layers\n(.*?)```", text, re.S)
    if not m:
        raise SystemExit(f"{path}: no ```layers block")
    layers, below, libs = {}, {}, {}
    for n, line in enumerate(m.group(1).splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("lib "):
            prefix, _, users = line[4:].partition(":")
            libs[prefix.strip()] = set(users.split())
            continue
        name, _, rest = line.partition(":")
        folders, _, lower = rest.partition("->")
        for folder in folders.split():
            layers[folder] = name.strip()
        below[name.strip()] = set(lower.split())
    return layers, below, libs


def reachable(below):
    """layer -> every layer below it (transitively)."""
    out = {}
    for layer in below:
        seen, todo = set(), list(below[layer])
        while todo:
            x = todo.pop()
            if x not in seen:
                seen.add(x)
                todo.extend(below.get(x, ()))
        out[layer] = seen
    return out


def files(root):
    for top in ("src", "include"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".h", ".cc")):
                    yield os.path.join(dirpath, name)


def folder_of(root, path):
    rel = os.path.relpath(path, root).split(os.sep)
    if rel[0] == "include":  # include/udpbeat/<folder>/x.h
        return rel[2] if len(rel) > 3 else None
    return rel[1] if len(rel) > 2 else None  # src/<folder>/x.cc; src/main.cc: None


def header_path(root, including, target, quote):
    """The project file an include names, or None for system/third-party headers.

    Resolved the way the compiler does: a quoted include first against the including
    file's folder, then (quoted or not) against every project directory the build could
    put on the search path: include/ and, should an implicit -I ever come back, the source
    root itself. A path that escapes and re-enters the tree ("udpbeat/../udpbeat/x.h",
    "include/udpbeat/x.h", "src/modes/x.h") is normalised, so no spelling slips past."""
    candidates = []
    if quote == '"':
        candidates.append(os.path.dirname(including))
    candidates += [os.path.join(root, "include"), root]
    real_root = os.path.realpath(root)
    for base in candidates:
        p = os.path.realpath(os.path.join(base, target))
        if os.path.isfile(p) and (p + os.sep).startswith(real_root + os.sep):
            return os.path.join(root, os.path.relpath(p, real_root))
    return None


def check(root):
    layers, below, libs = parse_architecture(root)
    down = reachable(below)
    errors = []
    includes = {}  # path -> [(line, target, quote)]
    for path in files(root):
        with open(path, encoding="utf-8") as f:
            includes[path] = [(n, m.group(2), m.group(1))
                              for n, l in enumerate(f, 1) if (m := INCLUDE_RE.match(l))]
    for path, incs in includes.items():
        rel = os.path.relpath(path, root)
        folder = folder_of(root, path)
        if folder is None:
            layer = "main"
        elif folder not in layers:
            errors.append(f"{rel}:1: folder '{folder}' is in no layer of ARCHITECTURE.md")
            continue
        else:
            layer = layers[folder]
        for n, target, quote in incs:
            for prefix, users in libs.items():
                if target.startswith(prefix) and layer not in users:
                    errors.append(f"{rel}:{n}: {layer} includes <{target}>, which only "
                                  f"{', '.join(sorted(users))} may use")
            hp = header_path(root, path, target, quote)
            if hp is None:
                continue
            tfolder = folder_of(root, hp)
            tlayer = layers.get(tfolder)
            if tlayer is None:
                errors.append(f"{rel}:{n}: includes {target}, in no layer")
            elif tlayer != layer and tlayer not in down.get(layer, set()):
                kind = "upward" if layer in down.get(tlayer, set()) else "sideways"
                errors.append(f"{rel}:{n}: {kind} include: {layer} ({folder}) includes "
                              f"{target} ({tlayer})")
    # No header outside io reaches <liburing.h>.
    memo = {}

    def reaches_liburing(path, stack=()):
        if path in memo:
            return memo[path]
        if path in stack:
            return None
        for n, target, quote in includes.get(path, []):
            if target == "liburing.h" or target.startswith("liburing/"):
                memo[path] = [f"{os.path.relpath(path, root)}:{n}"]
                return memo[path]
            hp = header_path(root, path, target, quote)
            if hp is not None and hp in includes:
                chain = reaches_liburing(hp, stack + (path,))
                if chain:
                    memo[path] = [f"{os.path.relpath(path, root)}:{n}"] + chain
                    return memo[path]
        memo[path] = None
        return None

    for path in includes:
        folder = folder_of(root, path)
        if path.endswith(".h") and layers.get(folder) != "io":
            chain = reaches_liburing(path)
            if chain:
                errors.append(f"{chain[0]}: reaches <liburing.h> outside io: "
                              + " -> ".join(chain))
    return errors


def self_test(root):
    """Appends upward includes, in every spelling the compiler would accept, to a copy of
    a core file, and requires the checker to refuse each one by file and line."""
    spellings = ['#include "udpbeat/report/reporter.h"',
                 '#include <udpbeat/../udpbeat/report/reporter.h>',
                 '#include "include/udpbeat/report/reporter.h"',
                 '#include "src/modes/pinger.h"',
                 '#include "../modes/pinger.h"']
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "tree")
        for part in ("src", "include"):
            shutil.copytree(os.path.join(root, part), os.path.join(copy, part))
        shutil.copy(os.path.join(root, "ARCHITECTURE.md"), copy)
        victim = os.path.join(copy, "src", "proto", "lab_protocol.cc")
        with open(victim, encoding="utf-8") as f:
            first = sum(1 for _ in f) + 1
        with open(victim, "a", encoding="utf-8") as f:
            f.write("".join(s + "\n" for s in spellings))
        errors = check(copy)
        for i, spelling in enumerate(spellings):
            want = f"src/proto/lab_protocol.cc:{first + i}: upward include"
            hit = [e for e in errors if e.startswith(want)]
            if not hit:
                print(f"self-test: the checker did not refuse {spelling!r} ({want}); "
                      f"it said {errors}")
                return 1
            print(f"self-test: refused as expected: {hit[0]}")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(argv[1])
    for e in errors:
        print(e)
    if errors:
        return 1
    print(f"{sum(1 for _ in files(argv[1]))} files: every include follows the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
