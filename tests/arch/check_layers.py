#!/usr/bin/env python3
"""Checks every #include in src/ and include/ against the layer DAG that ARCHITECTURE.md
declares (its ```layers block), and that no header outside the io layer reaches
<liburing.h>, directly or through other headers.

    check_layers.py SOURCE_ROOT            check the tree; exit 1 naming file:line
    check_layers.py SOURCE_ROOT --build BUILD_DIR
                                           and what the compiler read for every source
                                           in src/ (ninja's dependency log): an include
                                           the regex cannot see (a macro, a comment, a
                                           digraph) is still caught, by file
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
import subprocess
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
                if os.path.normpath(target).startswith(prefix) and layer not in users:
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
            norm = os.path.normpath(target)  # <./liburing.h> is liburing.h
            if norm == "liburing.h" or norm.startswith("liburing/"):
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


def parse_ninja_deps(text, build):
    """`ninja -t deps` output -> [(source path, [dependency paths])], paths absolute.

    Each entry is an object file, then its dependencies one per indented line, the first
    being the source compiled: what the compiler itself read, every spelling resolved."""
    out, deps = [], None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            deps = []
            out.append(deps)
        elif deps is not None:
            deps.append(os.path.normpath(os.path.join(build, line.strip())))
    return [(d[0], d[1:]) for d in out if d]


def check_deps(root, entries):
    """Every project header and pinned library a source in src/ read while compiling,
    transitively, must belong to its layer or one below (a library: to a layer among
    those that may use it, reached through its own layer or one below)."""
    layers, below, libs = parse_architecture(root)
    down = reachable(below)
    real_root = os.path.realpath(root)
    errors = []
    for source, deps in entries:
        src = os.path.realpath(source)
        if not (src + os.sep).startswith(os.path.join(real_root, "src") + os.sep):
            continue  # tests and benchmarks may include anything
        rel = os.path.relpath(src, real_root)
        folder = folder_of(real_root, src)
        layer = layers.get(folder)
        if layer is None:
            continue  # src/main.cc sits above every layer
        allowed = {layer} | down.get(layer, set())
        for dep in deps:
            real = os.path.realpath(dep)
            if (real + os.sep).startswith(real_root + os.sep):
                tfolder = folder_of(real_root, real)
                tlayer = layers.get(tfolder)
                if tlayer is not None and tlayer not in allowed:
                    errors.append(f"{rel}: reads {os.path.relpath(real, real_root)} ({tlayer}) "
                                  f"while compiling: {layer} may not reach it")
                continue
            for prefix, users in libs.items():
                if ("/" + prefix) in real and not (users & allowed):
                    errors.append(f"{rel}: reads {real} while compiling: only "
                                  f"{', '.join(sorted(users))} may reach <{prefix}>")
    return sorted(set(errors))


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
    # The compiler's view: whatever the spelling, a core source that read a report header
    # or liburing is refused.
    fake = ("libudpbeat_core.a.p/src_proto_lab_protocol.cc.o: #deps 3, deps mtime 1 (VALID)\n"
            "    ../src/proto/lab_protocol.cc\n"
            "    ../include/udpbeat/report/reporter.h\n"
            "    /usr/include/liburing.h\n")
    build = os.path.join(root, "build-self-test")
    errors = check_deps(root, parse_ninja_deps(fake, build))
    wants = ["src/proto/lab_protocol.cc: reads include/udpbeat/report/reporter.h (report)",
             "src/proto/lab_protocol.cc: reads /usr/include/liburing.h"]
    for want in wants:
        if not any(e.startswith(want) for e in errors):
            print(f"self-test: the dependency check did not refuse {want!r}; it said {errors}")
            return 1
        print(f"self-test: refused as expected: {want} ...")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) not in (2, 4):
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(argv[1])
    checked = ""
    if len(argv) == 4 and argv[2] == "--build":
        # What the compiler read (ninja's dependency log of the build the suite runs in):
        # no include can hide from it, however spelled (a macro, a comment, a digraph).
        deps = subprocess.run(["ninja", "-C", argv[3], "-t", "deps"], capture_output=True,
                              text=True, check=False)
        if deps.returncode != 0:
            print(f"ninja -t deps failed: {deps.stderr.strip()}")
            return 1
        entries = parse_ninja_deps(deps.stdout, argv[3])
        errors += check_deps(argv[1], entries)
        checked = f" and {len(entries)} compiled files' dependencies"
    for e in errors:
        print(e)
    if errors:
        return 1
    print(f"{sum(1 for _ in files(argv[1]))} files{checked}: every include follows the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
