#!/bin/sh
# One route netlink socket per netem fault (issue 16): plan, inject and
# revert share the socket plan opened in the fault's namespace. Counted
# with strace (the VM shares the host's /usr): every socket(AF_NETLINK,
# ..., NETLINK_ROUTE) of a whole `faultctl --local run`, except those of
# the scratch-namespace children (the kernel probe and, over a user's
# root, the check that it can be put back), which unshare(CLONE_NEWNET)
# first and never see the fault's namespace. Two runs: a filtered fault
# (prio + netem + u32 filters) on the kernel's default root, and a plain
# one over a user's pfifo root (restored after).
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null 2>&1 ||
    fail "strace is needed to count the sockets (apt-get install strace on the host)"
setup_pair
write_config

# count_run NAME: run NAME.ini under strace; prints the fault's sockets.
count_run() {
	strace -f -qq -e trace=socket,unshare -o "$W/$1.st" \
	    $FCL run "$W/$1.ini" >"$W/$1.out" 2>&1 || { cat "$W/$1.out"; fail "$1: run failed"; }
	awk '/unshare\(CLONE_NEWNET/ { s[$1] = 1 }
	     /socket\(AF_NETLINK, .*NETLINK_ROUTE\)/ { r[$1]++ }
	     END { for (t in r) if (!(t in s)) n += r[t]; print n + 0 }' "$W/$1.st"
}

before=$(conf va)
experiment filt 2s "delay = 10ms" "destination = 10.77.0.2" "protocol = tcp"
n=$(count_run filt)
same_conf va "$before" "filtered run"
[ "$n" = 1 ] || { grep -e NETLINK -e unshare "$W/filt.st"; fail "filtered fault: $n route netlink sockets, want 1"; }
ok "filtered fault (prio, netem, u32): 1 route netlink socket for plan, inject and revert"

tc -n "$NA" qdisc add dev va root handle 1: pfifo limit 100
before=$(conf va)
experiment over 2s "delay = 10ms"
n=$(count_run over)
same_conf va "$before" "run over a user's root"
[ "$n" = 1 ] || { grep -e NETLINK -e unshare "$W/over.st"; fail "fault over pfifo: $n route netlink sockets, want 1"; }
ok "fault over a user's pfifo root: 1 route netlink socket, pfifo put back"
