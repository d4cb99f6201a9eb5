#!/usr/bin/python3
"""Checks udpbeat's JSON Lines (`ping --json`, `heartbeat --json`) against
udpbeat-events.schema.json, beside this file.

    validate_events.py [FILE ...]     JSON Lines from the files, or standard input
    validate_events.py --check-schema the schema itself is valid JSON Schema 2020-12
    validate_events.py --report-json  stdin: JSON Lines; stdout: one JSON object per
                                      invalid line {"line": N, "error": ..., "at": ...,
                                      "schema_at": ...} (the test harness reads this)

Exit status: 0 every line is valid, 1 some line is not (each is named on standard output
with the first error found in it), 2 the schema or the validator is unusable.

It needs the jsonschema module (Debian: python3-jsonschema), which Debian's own
/usr/bin/python3 sees; hence that interpreter, whatever python3 runs the tests.
"""

import json
import os
import sys

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "udpbeat-events.schema.json")


def load_validator():
    try:
        import jsonschema
    except ImportError:
        sys.exit(f"validate_events.py: {sys.executable} cannot import jsonschema "
                 "(Debian package python3-jsonschema)")
    try:
        with open(SCHEMA_PATH, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        sys.exit(f"validate_events.py: {SCHEMA_PATH}: {e}")
    # JSON Schema counts 2206174.0 as an integer (a number with a zero fraction); udpbeat
    # promises integers printed as integers, so here an integer is what json.loads makes
    # an int: digits only, no fraction, no exponent.
    strict = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool))
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=strict)
    return cls(schema)


def pointer(path):
    """A deque of keys and indexes as a JSON Pointer-like path: /paths/0/src_port."""
    return "/" + "/".join(str(p) for p in path) if path else "(the object)"


def first_error(validator, obj):
    """The most telling error, as {"error", "at", "schema_at"}, or None."""
    import jsonschema
    errors = list(validator.iter_errors(obj))
    if not errors:
        return None
    # A wrong value names the field; an undocumented field, the innermost object.
    specific = [e for e in errors
                if e.validator not in ("additionalProperties", "unevaluatedProperties")]
    if specific:
        e = jsonschema.exceptions.best_match(specific)
    else:  # the innermost object with an undocumented field
        e = max(errors, key=lambda x: len(x.absolute_path))
    # oneOf/not messages start with the whole object; the line is printed beside anyway.
    message = e.message.replace(repr(e.instance), "the object") if isinstance(
        e.instance, dict) else e.message
    return {"error": message, "at": pointer(e.absolute_path),
            "schema_at": pointer(e.absolute_schema_path)}


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def check_lines(validator, lines):
    """Yields (line number, text, error dict) for every invalid line (blank ones skipped)."""
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text, parse_constant=reject_constant)
        except ValueError as e:
            yield n, text, {"error": f"not JSON: {e}", "at": "", "schema_at": ""}
            continue
        err = first_error(validator, obj)
        if err is not None:
            yield n, text, err


def main(argv):
    validator = load_validator()
    if argv == ["--check-schema"]:
        print(f"{SCHEMA_PATH}: valid JSON Schema 2020-12")
        return 0
    if argv == ["--report-json"]:
        bad = 0
        for n, _, err in check_lines(validator, sys.stdin.read().splitlines()):
            print(json.dumps(dict(err, line=n)))
            bad += 1
        return 1 if bad else 0
    if any(a.startswith("-") for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    bad = total = 0
    for name in argv or ["-"]:
        if name == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(name, encoding="utf-8") as f:
                lines = f.read().splitlines()
        total += sum(1 for x in lines if x.strip())
        for n, text, err in check_lines(validator, lines):
            bad += 1
            print(f"{name}:{n}: {err['error']} (at {err['at']}; schema {err['schema_at']})\n"
                  f"  {text}")
    print(f"{total - bad} of {total} lines valid", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
