#!/usr/bin/env python3
"""Compares what `udpbeat [SUB] --help` lists with what a man page documents.

usage: help_vs_man.py MANDOC UDPBEAT PAGE [SUBCOMMAND]

From --help (CLI11 format) it takes the options ("  -c,--count COUNT=10  ..."),
their argument names and defaults, the positionals' type names, and at top
level the subcommands. From the page it takes the OPTIONS section's .TP tags,
in either style
    \\fB\\-c\\fR, \\fB\\-\\-count\\fR \\fICOUNT\\fR
    .B \\-c ", " \\-\\-count " COUNT"
the text under each tag, the rendered SYNOPSIS, and at top level the
DESCRIPTION's .TP tags. It fails, listing every difference both ways, when
  - an option is in --help but not the page, or in the page but not --help;
  - an option's argument name differs (COUNT vs. N), or one takes an argument
    and the other does not;
  - an option's --help default does not appear in the text under its tag;
  - an option (other than -h/--help) or a positional is missing from SYNOPSIS;
  - the subcommands listed by --help and by udpbeat.1 differ.
"""
import re
import subprocess
import sys

FONT = re.compile(r'\\f[BIRP]|\\f\(\w\w|\\f\[\w*\]')


def unescape(text):
    text = FONT.sub('', text)
    text = text.replace('\\-', '-').replace('\\ ', ' ').replace('\\&', '')
    text = text.replace('\\c', '').replace('\\e', '\\')
    return text


def tag_text(line):
    """The text of a .TP tag line, macros and quotes removed."""
    if line.startswith('.'):
        parts = line.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ''
        # Alternating-font macros join their arguments without spaces.
        args = re.findall(r'"((?:[^"]|"")*)"|(\S+)', rest)
        joiner = '' if parts[0] in ('.BR', '.RB', '.BI', '.IB', '.IR',
                                    '.RI') else ' '
        line = joiner.join(a or b for a, b in args)
    return unescape(line).strip()


def parse_help(text):
    """Returns ({option: (arg, default)}, [positional types], [subcommands])."""
    options, positionals, subcommands = {}, [], []
    section = None
    for line in text.splitlines():
        if re.match(r'^\S.*:$', line):
            section = line[:-1]
            continue
        if section == 'Options':
            m = re.match(r'^ {2}(-\S+)(?: (\S+))?', line)
            if not m:
                continue
            arg, default = None, None
            if m.group(2):
                arg, _, default = m.group(2).partition('=')
                default = default or None
            for name in m.group(1).split(','):
                options[name] = (arg, default)
        elif section == 'Positionals':
            m = re.match(r'^ {2}(\S+) (\S+)', line)
            if m:
                positionals.append(m.group(2))
        elif section == 'Subcommands':
            m = re.match(r'^ {2}(\S+)', line)
            if m:
                subcommands.append(m.group(1))
    return options, positionals, subcommands


def sections(lines):
    """Maps each .SH name to its lines (.SS subsections included)."""
    out, name = {}, None
    for line in lines:
        if line.startswith('.SH'):
            name = line[3:].strip().strip('"')
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def tp_entries(lines):
    """Yields (tag, body) for each outermost .TP in `lines`."""
    i, depth = 0, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('.RS'):
            depth += 1
        elif line.startswith('.RE'):
            depth -= 1
        if line.startswith('.TP') and depth == 0 and i + 1 < len(lines):
            tag = lines[i + 1]
            body, j, d = [], i + 2, 0
            while j < len(lines):
                l = lines[j]
                if l.startswith(('.SH', '.SS')) or (l.startswith('.TP') and
                                                    d == 0):
                    break
                if l.startswith('.RS'):
                    d += 1
                elif l.startswith('.RE'):
                    d -= 1
                body.append(l)
                j += 1
            yield tag, body
            i = j
            continue
        i += 1


def parse_page_options(opt_lines):
    """Returns {option: arg}, {option: body text}, [problems]."""
    options, bodies, problems = {}, {}, []
    for tag, body in tp_entries(opt_lines):
        text = tag_text(tag)
        if not text.startswith('-'):
            continue
        names, arg = [], None
        for part in text.split(','):
            words = part.split()
            if not words:
                continue
            if not words[0].startswith('-'):
                problems.append(f'page: cannot parse option tag {tag!r}')
                continue
            names.append(words[0])
            if len(words) > 1:
                arg = ' '.join(words[1:])
        body_text = ' '.join(unescape(tag_text(l)) if l.startswith('.')
                             else unescape(l) for l in body)
        for name in names:
            options[name] = arg
            bodies[name] = body_text
    return options, bodies, problems


def render_synopsis(mandoc, page):
    out = subprocess.run([mandoc, '-Tascii', '-Owidth=400', page],
                         capture_output=True, text=True, check=True).stdout
    out = re.sub(r'.\x08', '', out)
    m = re.search(r'^SYNOPSIS\n(.*?)^\S', out, re.S | re.M)
    return ' '.join(m.group(1).split()) if m else ''


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit('usage: help_vs_man.py MANDOC UDPBEAT PAGE [SUBCOMMAND]')
    mandoc, exe, page = sys.argv[1:4]
    sub = sys.argv[4] if len(sys.argv) == 5 else None
    cmd = [exe] + ([sub] if sub else []) + ['--help']
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'{" ".join(cmd)} exited {run.returncode}: {run.stderr}')
    help_opts, positionals, help_subs = parse_help(run.stdout)
    if not help_opts:
        sys.exit(f'no options found in the output of {" ".join(cmd)}')

    with open(page, encoding='utf-8') as f:
        lines = [l.rstrip('\n') for l in f]
    secs = sections(lines)
    if 'OPTIONS' not in secs:
        sys.exit(f'{page}: no OPTIONS section')
    page_opts, bodies, problems = parse_page_options(secs['OPTIONS'])
    where = f'`{" ".join(cmd)}`'

    for name in sorted(set(help_opts) - set(page_opts)):
        problems.append(f'{name}: in {where} but not in {page}')
    for name in sorted(set(page_opts) - set(help_opts)):
        problems.append(f'{name}: in {page} but not in {where}')
    synopsis = render_synopsis(mandoc, page)
    for name in sorted(set(help_opts) & set(page_opts)):
        arg, default = help_opts[name]
        if arg != page_opts[name]:
            problems.append(f'{name}: argument {arg!r} in --help but '
                            f'{page_opts[name]!r} in {page}')
        if default and default not in bodies[name]:
            problems.append(f'{name}: the page does not mention the default '
                            f'{default!r}')
    # Each option but -h/--help must appear in the SYNOPSIS by one of its names.
    shown = set(re.findall(r'(?<![\w-])(--?[A-Za-z0-9][\w-]*)', synopsis))
    for line in run.stdout.splitlines():
        m = re.match(r'^ {2}(-\S+)', line)
        names = m.group(1).split(',') if m else []
        if names and '--help' not in names and not shown & set(names):
            problems.append(f'{"/".join(names)}: not in SYNOPSIS')
    for p in positionals:
        if p not in synopsis:
            problems.append(f'positional {p}: not in SYNOPSIS')

    if not sub:
        page_subs = set()
        for tag, _ in tp_entries(secs.get('DESCRIPTION', [])):
            words = tag_text(tag).split()
            if words:
                page_subs.add(words[0])
        for s in sorted(set(help_subs) - page_subs):
            problems.append(f'subcommand {s}: in {where} but not in the '
                            f'DESCRIPTION of {page}')
        for s in sorted(page_subs - set(help_subs)):
            problems.append(f'subcommand {s}: in {page} but not in {where}')

    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
