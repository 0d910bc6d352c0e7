# bash completion for faultctl(1)
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

	local commands="validate plan run status abort history report recover gameday rollout help version"
	local global="--agent --config --help --version"

	case $prev in
	--format)
		COMPREPLY=($(compgen -W "text json junit html" -- "$cur"))
		return ;;
	--output|--config|-c)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--agent)
		COMPREPLY=($(compgen -W "unix:/run/faultline/agent.sock https://" -- "$cur"))
		return ;;
	--stage)
		COMPREPLY=($(compgen -W "staging= production=" -- "$cur"))
		compopt -o nospace 2>/dev/null
		return ;;
	esac

	# The subcommand is the first word that is not an option or its value.
	local i cmd= sub=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--agent|--config|--format|--output|--stage) ((i++)) ;;
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

	case $cmd in
	validate|plan)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
		fi ;;
	run)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--detach --json --format --output" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
		fi ;;
	report)
		COMPREPLY=($(compgen -W "--format --output" -- "$cur")) ;;
	status|abort|history|recover)
		COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	gameday)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W "list run" -- "$cur"))
		fi ;;
	rollout)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--stage --json --format --output" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
		fi ;;
	esac
}
complete -o filenames -F _faultctl faultctl
