#!/usr/bin/env python3
"""Checks one configured man page's structure beyond lint.

usage: sections.py PAGE [OTHER_PAGE ...]
  - the page has the sections STYLE.md asks for: NAME, DESCRIPTION and
    SEE ALSO everywhere; also SYNOPSIS, OPTIONS, EXIT STATUS and EXAMPLES
    in section 1;
  - every udpbeat page it cites as .BR udpbeat... (N) is one of the pages
    given (the pages meson installs), so no cross-reference dangles.
Exits 1 listing every problem, 0 when the page is clean.
"""
import os
import re
import sys

XREF = re.compile(r'^\.BR\s+"?(udpbeat(?:\\-\w+)?)"?\s+\((\d)\)')


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: sections.py PAGE [OTHER_PAGE ...]')
    page = sys.argv[1]
    known = {os.path.basename(p) for p in sys.argv[1:]}
    with open(page, encoding='utf-8') as f:
        lines = [l.rstrip('\n') for l in f]
    section = page.rsplit('.', 1)[-1]
    have = {l[3:].strip().strip('"') for l in lines if l.startswith('.SH')}
    need = ['NAME', 'DESCRIPTION', 'SEE ALSO']
    if section == '1':
        need += ['SYNOPSIS', 'OPTIONS', 'EXIT STATUS', 'EXAMPLES']
    problems = [f'{page}: no {n} section' for n in need if n not in have]
    for n, line in enumerate(lines, 1):
        m = XREF.match(line)
        if m:
            name = m.group(1).replace('\\-', '-') + '.' + m.group(2)
            if name not in known:
                problems.append(f'{page}:{n}: cites {name}, which is not '
                                'installed')
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
