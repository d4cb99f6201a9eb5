"""Lists the integration tests for meson: every unittest method in test_*.py here.

    python3 discover.py              one line per test:  SCRIPT<TAB>ID<TAB>KIND<TAB>PEERS
    python3 discover.py --check OUT  exit 1 unless the listing today equals OUT

ID is `Class.method`, which is also the meson test name; KIND is `serial` for tests
marked @harness.serial, else `parallel`; PEERS is `lab` for tests marked
@harness.lab_interop, else `-`. Importing the scripts runs only their definitions
(their main() is behind `if __name__ == "__main__"`).

meson reads this listing at configure time; --check runs as a test so that a listing
grown stale (a test file added since, which meson cannot see) fails instead of leaving
tests unregistered."""

import glob
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def listing():
    sys.dont_write_bytecode = True  # configure must not litter the source tree
    sys.path.insert(0, HERE)
    import harness
    rows, seen = [], {}
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        script = os.path.basename(path)
        try:
            module = __import__(script[:-3])
        except Exception as e:  # any error in the script's definitions, named in one line
            raise SystemExit(f"discover.py: cannot import {script}: {e!r}")
        for test in _flatten(unittest.TestLoader().loadTestsFromModule(module)):
            test_id = test.id().split(".", 1)[1]
            if test_id in seen:
                raise SystemExit(f"discover.py: test {test_id} is in both {seen[test_id]} and "
                                 f"{script}; meson names tests Class.method, so rename a class")
            seen[test_id] = script
            kind = "serial" if harness.has_mark(test, harness.SERIAL_MARK) else "parallel"
            peers = "lab" if harness.has_mark(test, harness.LAB_INTEROP_MARK) else "-"
            rows.append(f"{script}\t{test_id}\t{kind}\t{peers}")
    if not rows:
        raise SystemExit(f"discover.py: no unittest methods in {HERE}/test_*.py")
    return "\n".join(rows)


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def main():
    now = listing()
    if sys.argv[1:2] == ["--check"] and len(sys.argv) == 3:
        if now.strip() == sys.argv[2].strip():
            print(f"{len(now.splitlines())} integration tests, as registered")
            return 0
        then, today = set(sys.argv[2].strip().splitlines()), set(now.splitlines())
        for row in sorted(today - then):
            print(f"not registered: {row}")
        for row in sorted(then - today):
            print(f"registered but gone or changed: {row}")
        print("the integration tests changed since meson configured them: run "
              "`meson setup --reconfigure BUILDDIR`")
        return 1
    if len(sys.argv) != 1:
        print("usage: discover.py [--check LISTING]", file=sys.stderr)
        return 2
    print(now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
