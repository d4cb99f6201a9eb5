# bash completion for udpbeat(1)                          -*- shell-script -*-
#
# The option lists below must match `udpbeat [SUBCOMMAND] --help` exactly:
# tests/packaging/completion_test.py runs this completion against every
# option --help lists, both ways, and fails on any difference. When you add an
# option to the CLI, add it to the subcommand's `opts` list here, to `args`
# too if it takes a value, and to completions/_udpbeat.

_udpbeat()
{
    local cur prev cword=$COMP_CWORD
    local -a words=("${COMP_WORDS[@]}")
    cur=${words[cword]}
    prev=${words[cword-1]}
    # COMP_WORDBREAKS splits --reply=echo into "--reply" "=" "echo".
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]] && ((cword >= 2)); then
        prev=${words[cword-2]}
    fi

    local subcommands='serve ping heartbeat help'

    # The subcommand is the first word after `udpbeat` that is not an option
    # (the top level options, -h and -V, take no value).
    local i sub=
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} != -* ]]; then
            sub=${words[i]}
            break
        fi
    done

    # opts: every option of the subcommand. args: the options that take a value.
    local opts args
    case $sub in
        '')
            opts='-h --help -V --version'
            args=
            ;;
        serve)
            opts='-h --help -b --bind -r --reply --loss --seed --delay --jitter
                  --stamp-stateful --auth-key --max-peers --max-rate --max-delay-bytes
                  --threads --metrics-file --metrics-interval --metrics-listen
                  -q --quiet'
            args='-b --bind -r --reply --loss --seed --delay --jitter
                  --auth-key --max-peers --max-rate --max-delay-bytes --threads --metrics-file
                  --metrics-interval --metrics-listen'
            ;;
        ping)
            opts='-h --help -c --count -i --interval -W --timeout --rate
                  --duration --targets --proto -s --size -q --quiet -D
                  --json --sessions --sockets --src-ports --tos --dscp
                  -I --source --auth-key --follow-up --metrics-file
                  --metrics-interval --plot -4 -6'
            args='-c --count -i --interval -W --timeout --rate --duration
                  --targets --proto -s --size --sessions --sockets
                  --src-ports --tos --dscp -I --source --auth-key
                  --metrics-file --metrics-interval --plot'
            ;;
        heartbeat)
            opts='-h --help -i --interval -c --count -W --timeout --misses
                  --phi --phi-pause --exit-on-down --metrics-listen
                  --targets --proto -s --size -q --quiet -D --json
                  --sessions --sockets --src-ports --tos --dscp -I --source
                  --auth-key --follow-up --metrics-file --metrics-interval
                  --plot -4 -6'
            args='-i --interval -c --count -W --timeout --misses --phi
                  --phi-pause --metrics-listen --targets --proto -s --size
                  --sessions --sockets --src-ports --tos --dscp -I --source
                  --auth-key --metrics-file --metrics-interval --plot'
            ;;
        help)
            opts='-h --help'
            args=
            ;;
        *)
            COMPREPLY=()
            return 0
            ;;
    esac

    # The value of an option.
    if [[ $prev == -* && " ${args//$'\n'/ } " == *" $prev "* ]]; then
        case $prev in
            -r | --reply)
                COMPREPLY=($(compgen -W 'auto echo heartbeat stamp' -- "$cur"))
                ;;
            --proto)
                COMPREPLY=($(compgen -W 'stamp seed' -- "$cur"))
                ;;
            --metrics-file | --plot | --targets | --auth-key)
                if declare -F _filedir >/dev/null; then
                    if [[ $prev == --plot ]]; then _filedir svg; else _filedir; fi
                else
                    local IFS=$'\n'
                    COMPREPLY=($(compgen -f -- "$cur"))
                fi
                ;;
            --dscp)
                # The common classes: best effort, AF11..AF43, CS5, EF, CS6, CS7.
                COMPREPLY=($(compgen -W '0 10 12 14 18 20 22 26 28 30 34 36 38 40
                                         46 48 56' -- "$cur"))
                ;;
            *)
                # Numbers, durations, addresses: nothing to offer.
                COMPREPLY=()
                ;;
        esac
        return 0
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi

    case $sub in
        '')
            COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
            ;;
        help)
            # help takes one subcommand name.
            local n=0
            for ((i = i + 1; i < cword; i++)); do
                [[ ${words[i]} != -* ]] && n=$((n + 1))
            done
            ((n == 0)) && COMPREPLY=($(compgen -W 'serve ping heartbeat' -- "$cur"))
            ;;
        ping | heartbeat)
            # The targets: host names.
            if declare -F _known_hosts_real >/dev/null; then
                _known_hosts_real -- "$cur"
            else
                COMPREPLY=($(compgen -A hostname -- "$cur"))
            fi
            ;;
        *)
            COMPREPLY=()
            ;;
    esac
    return 0
}
complete -F _udpbeat udpbeat

# ex: filetype=sh
