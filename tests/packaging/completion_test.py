#!/usr/bin/env python3
"""Checks the bash and zsh completions against `udpbeat [SUB] --help`.

usage: completion_test.py UDPBEAT BASH_COMPLETION ZSH_COMPLETION

--help (CLI11 format) is the one source of truth. For the top level and every
subcommand --help lists, it checks, both ways:
  bash  (runs _udpbeat in a `bash` subprocess with COMP_WORDS/COMP_CWORD set)
    - `udpbeat ` offers every subcommand; `udpbeat ping --pr` offers --proto;
    - `udpbeat [SUB] -` offers exactly the options --help lists;
    - after each option, `-` is offered the option list again iff the option
      takes no value (so a value-taking option missing from the completion's
      `args` list, or a flag wrongly in it, fails);
    - the values offered after --reply and --proto (also as --reply=) are the
      ones --help names ("Reply mode: auto, echo, heartbeat or stamp");
    - --metrics-file, --plot, --targets and --auth-key complete file names;
    and all of it again with the bash-completion library loaded, when installed.
  zsh   (when zsh is installed)
    - `zsh -n` accepts the file;
    - with _arguments/_describe replaced by recorders, each _udpbeat_SUB (and
      _udpbeat at top level) declares exactly the options --help lists, with
      an argument exactly when --help shows one; --reply/--proto complete the
      --help values; --metrics-file, --targets and --auth-key use _files.
Every difference is listed; exit status 1 if there is any.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

VALUE_OPTIONS = ('--reply', '--proto')
# Options whose value is a file name (besides --plot, which offers *.svg), and the file
# the test directory holds for each to offer.
FILE_OPTIONS = {'--metrics-file': 'metrics.prom', '--targets': 'targets.txt',
                '--auth-key': 'key.secret'}
BASH_COMPLETION_LIB = '/usr/share/bash-completion/bash_completion'

errors = []


def fail(msg):
    errors.append(msg)


def parse_help(text):
    """Returns ({option: (takes_value, description)}, [subcommands])."""
    options, subcommands = {}, []
    section, last = None, None
    for line in text.splitlines():
        if re.match(r'^\S.*:$', line):
            section, last = line[:-1], None
            continue
        if section == 'Options':
            m = re.match(r'^ {2}(-\S+)(?: (\S+))?(?: {2,}(.*))?$', line)
            if m:
                last = [m.group(1).split(','), bool(m.group(2)), m.group(3) or '']
                for name in last[0]:
                    options[name] = (last[1], last[2])
            elif last and line.strip() and not last[2]:
                last[2] = line.strip()
                for name in last[0]:
                    options[name] = (last[1], last[2])
        elif section == 'Subcommands':
            m = re.match(r'^ {2}(\S+)', line)
            if m:
                subcommands.append(m.group(1))
    return options, subcommands


def choices(description):
    """'Reply mode: auto, echo, heartbeat or stamp' -> [auto, echo, heartbeat, stamp]."""
    _, _, rest = description.partition(':')
    rest = re.sub(r'\([^)]*\)', '', rest)
    return [w.split()[0] for w in re.split(r',|\bor\b', rest) if w.split()]


def run_help(udpbeat, sub):
    out = subprocess.run([udpbeat] + ([sub] if sub else []) + ['--help'],
                         check=True, capture_output=True, text=True).stdout
    return parse_help(out)


# ---------------------------------------------------------------- bash

def bash_queries(bash_file, queries, workdir, with_lib):
    """Runs each query (a list of words, the last one being completed) and
    returns the COMPREPLY of each, as a list of sets."""
    script = ['set +o posix']
    if with_lib:
        script.append(f'source {shlex.quote(BASH_COMPLETION_LIB)}')
    script.append(f'source {shlex.quote(bash_file)}')
    script.append('q() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                  'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); '
                  '_udpbeat; printf "%s\\x1f" "${COMPREPLY[@]}"; printf "\\n"; }')
    for words in queries:
        script.append('q ' + ' '.join(shlex.quote(w) for w in words))
    env = dict(os.environ, HOME=workdir)
    res = subprocess.run(['bash', '--norc', '--noprofile', '-c', '\n'.join(script)],
                         capture_output=True, text=True, cwd=workdir, env=env,
                         timeout=120)
    if res.returncode != 0:
        fail(f'bash{" (with bash-completion)" if with_lib else ""} exited '
             f'{res.returncode}: {res.stderr.strip()}')
    lines = res.stdout.split('\n')[:len(queries)]
    lines += [''] * (len(queries) - len(lines))
    return [set(x for x in line.split('\x1f') if x) for line in lines]


def check_bash(bash_file, helps, subcommands, workdir, with_lib):
    tag = 'bash (with bash-completion)' if with_lib else 'bash'
    queries, checks = [], []

    def ask(words, check):
        queries.append(words)
        checks.append((words, check))

    def must_contain(wanted):
        return lambda got: [f'does not offer {w}' for w in wanted if w not in got]

    def must_equal(wanted):
        def check(got):
            out = [f'does not offer {w}' for w in sorted(set(wanted) - got)]
            out += [f'offers {w}, which --help does not list'
                    for w in sorted(got - set(wanted))]
            return out
        return check

    ask(['udpbeat', ''], must_contain(['serve', 'ping', 'heartbeat', 'help']))
    ask(['udpbeat', 'ping', '--pr'], must_contain(['--proto']))
    ask(['udpbeat', ''], must_equal(subcommands))
    for sub, (options, _) in helps.items():
        prefix = ['udpbeat'] + ([sub] if sub else [])
        ask(prefix + ['-'], must_equal(options))
        for opt, (takes_value, desc) in options.items():
            if takes_value:
                ask(prefix + [opt, '-'], lambda got, o=opt: (
                    [f'offers options as the value of {o}'] if got & set(
                        n for n in got if n.startswith('-')) else []))
            else:
                ask(prefix + [opt, '-'], lambda got, o=opt, p=prefix: (
                    [] if got and got == option_list[tuple(p)] else
                    [f'{o} takes no value, but the option list is not offered after it']))
            if opt in VALUE_OPTIONS:
                wanted = choices(desc)
                if not wanted:
                    fail(f'--help: no values found in the description of {opt}: {desc!r}')
                ask(prefix + [opt, ''], must_equal(wanted))
                ask(prefix + [opt, '=', ''], must_equal(wanted))
                ask(prefix + [opt, wanted[0][:1]],
                    must_equal([w for w in wanted if w.startswith(wanted[0][:1])]))
            if opt in FILE_OPTIONS:
                name = FILE_OPTIONS[opt]
                ask(prefix + [opt, name[:3]], must_contain([name]))
            if opt == '--plot':
                ask(prefix + [opt, 'plo'], must_contain(['plot.svg']))
    got = bash_queries(bash_file, queries, workdir, with_lib)
    option_list = {tuple(words[:-1]): reply for words, reply in zip(queries, got)
                   if words[-1] == '-' and not words[-2].startswith('-')}
    for (words, check), reply in zip(checks, got):
        for msg in check(reply):
            fail(f'{tag}: `{" ".join(words)}<TAB>` {msg} (got: {" ".join(sorted(reply))})')


# ---------------------------------------------------------------- zsh

ZSH_SPEC = re.compile(r'^(?:\([^)]*\))?(\*)?(-{1,2}[A-Za-z0-9][A-Za-z0-9-]*)'
                      r'(\+|=-?|-)?(?:\[(?:[^\]\\]|\\.)*\])?(:.*)?$')


def zsh_specs(zsh, zsh_file, workdir):
    """{context: [spec, ...]} from _udpbeat (top) and each _udpbeat_SUB."""
    script = f'''
_arguments() {{ print -r -- "@@ARGS $ctx"; print -rl -- "$@"; }}
_describe() {{ print -r -- "@@DESCRIBE $ctx"; print -rl -- "${{(@P)${{@[-1]}}}}"; }}
compdef() {{ : }}
source {shlex.quote(zsh_file)}
ctx=''; words=(udpbeat); CURRENT=2; state=''; _udpbeat
for f in ${{(k)functions[(I)_udpbeat_*]}}; do ctx=$f; $f; done
'''
    res = subprocess.run([zsh, '-f', '-c', script], capture_output=True, text=True,
                         cwd=workdir, timeout=60)
    if res.returncode != 0:
        fail(f'zsh: recording the specs failed ({res.returncode}): {res.stderr.strip()}')
    out, cur = {}, None
    for line in res.stdout.splitlines():
        if line.startswith('@@'):
            kind, _, ctx = line[2:].partition(' ')
            cur = out.setdefault((kind, ctx), [])
        elif cur is not None:
            cur.append(line)
    return out


def check_zsh(zsh, zsh_file, helps, workdir):
    res = subprocess.run([zsh, '-n', zsh_file], capture_output=True, text=True)
    if res.returncode != 0:
        fail(f'zsh -n {zsh_file}: {res.stderr.strip()}')
        return
    recorded = zsh_specs(zsh, zsh_file, workdir)
    for sub, (options, _) in helps.items():
        ctx = f'_udpbeat_{sub}' if sub else ''
        where = f'zsh ({ctx or "_udpbeat"})'
        if ('ARGS', ctx) not in recorded:
            fail(f'{where}: no _arguments call (is there a function {ctx}?)')
            continue
        declared = {}
        for spec in recorded[('ARGS', ctx)]:
            m = ZSH_SPEC.match(spec)
            if not m:
                if re.match(r'^(?:\([^)]*\))?\*?-', spec):
                    fail(f'{where}: cannot parse the spec {spec!r}')
                continue
            _, name, marker, arg = m.groups()
            if name in ('-s', '-S', '-C', '-A') and not marker and not arg and \
                    spec == name:
                continue  # an _arguments flag, not an option spec
            declared[name] = (bool(arg), marker, arg or '')
        for name in sorted(set(options) - set(declared)):
            fail(f'{where}: {name} is in --help but has no spec')
        for name in sorted(set(declared) - set(options)):
            fail(f'{where}: {name} has a spec but is not in --help')
        for name in sorted(set(options) & set(declared)):
            takes_value, desc = options[name]
            has_arg, marker, arg = declared[name]
            if takes_value != has_arg:
                fail(f'{where}: {name} ' + ('takes a value in --help but not in its spec'
                                            if takes_value else
                                            'takes no value in --help but its spec has one'))
            elif has_arg and name.startswith('--') and not (marker or '').startswith('='):
                fail(f'{where}: {name} should be declared {name}= (accepts --opt=value)')
            elif has_arg and not name.startswith('--') and marker != '+':
                fail(f'{where}: {name} should be declared {name}+ (accepts -xVALUE)')
            action = arg.rsplit(':', 1)[-1].strip() if has_arg else ''
            if name in VALUE_OPTIONS:
                wanted = set(choices(desc))
                got = set()
                if ('DESCRIBE', action) in recorded:
                    got = {v.split(':', 1)[0] for v in recorded[('DESCRIBE', action)]}
                elif action.startswith('(') and action.endswith(')'):
                    got = set(action[1:-1].split())
                if got != wanted:
                    fail(f'{where}: {name} completes {sorted(got)}, --help names {sorted(wanted)}')
            if name in FILE_OPTIONS and action != '_files':
                fail(f'{where}: {name} should complete with _files, not {action!r}')


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    udpbeat, bash_file, zsh_file = (os.path.abspath(a) for a in sys.argv[1:])
    top_options, subcommands = run_help(udpbeat, None)
    if not subcommands:
        sys.exit('udpbeat --help lists no subcommands')
    helps = {'': (top_options, subcommands)}
    for sub in subcommands:
        helps[sub] = run_help(udpbeat, sub)

    with tempfile.TemporaryDirectory() as workdir:
        for name in (*FILE_OPTIONS.values(), 'plot.svg'):
            open(os.path.join(workdir, name), 'w').close()
        check_bash(bash_file, helps, subcommands, workdir, with_lib=False)
        if os.path.exists(BASH_COMPLETION_LIB):
            check_bash(bash_file, helps, subcommands, workdir, with_lib=True)
        else:
            print(f'note: {BASH_COMPLETION_LIB} not installed; bash checked without it')
        zsh = shutil.which('zsh')
        if zsh:
            check_zsh(zsh, zsh_file, helps, workdir)
        else:
            print('note: zsh not installed; the zsh completion is not checked')

    for msg in errors:
        print(msg)
    if errors:
        print(f'{len(errors)} problem(s)')
        return 1
    print(f'ok: top level and {", ".join(subcommands)} match --help in '
          f'{"bash and zsh" if shutil.which("zsh") else "bash"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
