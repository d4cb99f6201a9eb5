#!/usr/bin/env python3
"""Runs one libFuzzer harness over the committed seed corpus without writing to it.

usage: run_fuzz.py HARNESS CORPUS_DIR ARTIFACT_DIR [libFuzzer flags...]

libFuzzer writes the inputs it finds into the first corpus directory it is given, so
that is a fresh temporary directory, removed afterwards; the committed corpus comes
second and is only read. A crashing input is kept in ARTIFACT_DIR and printed in hex.
Exit status: 0 when the harness finished its runs, else 1 (libFuzzer's own crash
status is 77, which meson would count as a skip).
"""
import pathlib
import subprocess
import sys
import tempfile


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    harness, corpus, artifacts = sys.argv[1:4]
    flags = sys.argv[4:]
    art = pathlib.Path(artifacts)
    art.mkdir(parents=True, exist_ok=True)
    prefix = f"{art}/{pathlib.Path(harness).name}-"
    before = set(art.iterdir())
    with tempfile.TemporaryDirectory(prefix="udpbeat-fuzz-") as work:
        rc = subprocess.run([harness, *flags, "-error_exitcode=1", "-timeout_exitcode=1",
                             f"-artifact_prefix={prefix}", work, corpus]).returncode
    for crash in sorted(set(art.iterdir()) - before):
        data = crash.read_bytes()
        print(f"run_fuzz: {crash} ({len(data)} B): {data[:512].hex()}", file=sys.stderr)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
