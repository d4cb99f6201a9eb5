#!/usr/bin/env python3
"""Lints one configured man page: mandoc -Tlint -W all must print nothing, and
the page must follow STYLE.md's rules that mandoc does not check.

usage: lint.py MANDOC PAGE
Exits 1 listing every problem, 0 when the page is clean.
"""
import re
import subprocess
import sys

# A '-' that starts an option-like word must be written '\-' (a minus, not a
# hyphen).
UNESCAPED_DASH = re.compile(r'(?<![\\\w-])-{1,3}[A-Za-z0-9]')
# A sentence ending inside a line ("... end. Next"); a new sentence goes on a
# new line. Abbreviations such as "e.g." are followed by lower case.
MID_LINE_SENTENCE = re.compile(r'[a-z0-9)][.?!]["\')]?\s+[A-Z]')
FONT = re.compile(r'\\f[BIRP]|\\f\(\w\w|\\f\[\w*\]')


def style_problems(page, lines):
    problems = []
    in_example = False
    for n, raw in enumerate(lines, 1):
        where = f'{page}:{n}'
        line = raw.rstrip('\n')
        if len(line.encode()) > 80:
            problems.append(f'{where}: line longer than 80 bytes')
        if line != line.rstrip():
            problems.append(f'{where}: trailing whitespace')
        if '@VERSION@' in line:
            problems.append(f'{where}: @VERSION@ was not substituted')
        if line.startswith('.\\"'):
            continue
        if line.startswith(('.EX', '.nf')):
            in_example = True
        elif line.startswith(('.EE', '.fi')):
            in_example = False
        text = FONT.sub('', line)
        if UNESCAPED_DASH.search(text):
            problems.append(f'{where}: write option dashes as \\-: {line}')
        if not in_example and not line.startswith('.'):
            if MID_LINE_SENTENCE.search(text):
                problems.append(f'{where}: start each sentence on a new line: '
                                f'{line}')
        if line.startswith('.TH '):
            fields = re.findall(r'"[^"]*"|\S+', line)
            if len(fields) < 5:
                problems.append(f'{where}: .TH needs title, section, date, '
                                'source')
            elif fields[1] != fields[1].upper():
                problems.append(f'{where}: .TH title must be upper case')
    if not any(l.startswith('.TH ') for l in lines):
        problems.append(f'{page}: no .TH line')
    return problems


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: lint.py MANDOC PAGE')
    mandoc, page = sys.argv[1:]
    run = subprocess.run([mandoc, '-Tlint', '-W', 'all', page],
                         capture_output=True, text=True)
    problems = [l for l in (run.stdout + run.stderr).splitlines() if l]
    if run.returncode != 0 and not problems:
        problems.append(f'{page}: mandoc exited {run.returncode}')
    with open(page, encoding='utf-8') as f:
        problems += style_problems(page, f.readlines())
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
