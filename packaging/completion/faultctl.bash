# bash completion for faultctl(1). Generated from the command table in
# ctl/faultctl.c by `faultctl --completion bash` (make completion): do not edit.
_faultctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local commands="validate plan run status abort history report recover info gameday rollout scorecard halt unhalt help"
	local global="--agent --local --config --cert --key --cacert --help --version"

	# The command is the first word that is not an option or its value.
	local i cmd= sub=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--agent|--config|--cert|--key|--cacert|--format|--output|--stage|--reason|--since|--experiment|--environment|-a|-c|-o|-s|-r)
			((i++)) ;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then cmd=${words[i]}
			elif [[ -z $sub ]]; then sub=${words[i]}
			fi ;;
		esac
	done

	case $prev in
	--format)
		case $cmd in
		run) COMPREPLY=($(compgen -W "text json junit html" -- "$cur")) ;;
		report) COMPREPLY=($(compgen -W "text json junit html" -- "$cur")) ;;
		scorecard) COMPREPLY=($(compgen -W "text json html" -- "$cur")) ;;
		esac
		return ;;
	--since)
		COMPREPLY=($(compgen -W "7d 30d 90d 365d all" -- "$cur"))
		return ;;
	--output|--config|--cert|--key|--cacert|-c|-o)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--agent|-a)
		COMPREPLY=($(compgen -W "unix:/run/faultline/agent.sock https://" -- "$cur"))
		return ;;
	--stage|-s)
		COMPREPLY=($(compgen -W "staging= production=" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return ;;
	--reason|-r|--experiment|--environment)
		return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	# Options a command takes (faultctl refuses any other with exit 2).
	local opts= files= subs=
	case $cmd in
	validate) opts="--json --help"; files=1 ;;
	plan) opts="--json --agent --local --config --cert --key --cacert --help"; files=1 ;;
	run) opts="--json --format --output --detach --agent --local --config --cert --key --cacert --help"; files=1 ;;
	status) opts="--json --agent --config --cert --key --cacert --help" ;;
	abort) opts="--agent --config --cert --key --cacert --help" ;;
	history) opts="--json --agent --local --config --cert --key --cacert --help" ;;
	report) opts="--json --format --output --agent --local --config --cert --key --cacert --help" ;;
	recover) opts="--agent --local --config --cert --key --cacert --help" ;;
	info) opts="--json --agent --local --config --cert --key --cacert --help" ;;
	gameday) opts="--json --wait --agent --config --cert --key --cacert --help"; subs="list run history show" ;;
	rollout) opts="--json --wait --stage --agent --config --cert --key --cacert --help"; files=1 ;;
	scorecard) opts="--since --experiment --environment --format --output --json --agent --local --config --cert --key --cacert --help" ;;
	halt) opts="--json --reason --agent --config --cert --key --cacert --help" ;;
	unhalt) opts="--json --agent --config --cert --key --cacert --help" ;;
	help) opts="--help"; subs=$commands ;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ -n $files ]]; then
		COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
	elif [[ -n $subs && -z $sub ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
	fi
}
complete -o filenames -F _faultctl faultctl
