# bash completion for faultctl(1). The commands and their options are those
# of the command table in ctl/faultctl.c (faultctl --help lists them).
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

	local commands="validate plan run status abort history report recover info gameday rollout scorecard halt unhalt"
	local global="--agent --local --config --cert --key --cacert --help"

	case $prev in
	--format)
		if [[ " ${COMP_WORDS[*]} " == *" scorecard "* ]]; then
			COMPREPLY=($(compgen -W "text json html" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json junit html" -- "$cur"))
		fi
		return ;;
	--since)
		COMPREPLY=($(compgen -W "7d 30d 90d 365d all" -- "$cur"))
		return ;;
	--output|--config|-c|--cert|--key|--cacert|-o)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--agent|-a)
		COMPREPLY=($(compgen -W "unix:/run/faultline/agent.sock https://" -- "$cur"))
		return ;;
	--stage|-s)
		COMPREPLY=($(compgen -W "staging= production=" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return ;;
	esac

	# The command is the first word that is not an option or its value.
	local i cmd= sub=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--agent|--config|--cert|--key|--cacert|--format|--output|--stage|--since|--experiment|--environment|-a|-c|-o|-s)
			((i++)) ;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then cmd=${words[i]}
			elif [[ -z $sub ]]; then sub=${words[i]}
			fi ;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	# Options a command takes (faultctl refuses any other with exit 2).
	local opts=
	case $cmd in
	plan|status|history|info) opts="--json" ;;
	run) opts="--detach --json --format --output" ;;
	report) opts="--json --format --output" ;;
	gameday) opts="--wait --json" ;;
	rollout) opts="--stage --wait --json" ;;
	scorecard) opts="--since --experiment --environment --format --output" ;;
	halt) opts="--reason --agent --json" ;;
	unhalt) opts="--agent --json" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
		return
	fi
	case $cmd in
	validate|plan|run|rollout)
		COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur")) ;;
	gameday)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "list run history show" -- "$cur"))
		fi ;;
	esac
}
complete -o filenames -F _faultctl faultctl
