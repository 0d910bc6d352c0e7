# Shared by 01-abort-revert-order.sh and 02-crash-revert-order.sh (issue
# 16): one run holding three kinds at once, injected in the order
#   stop  (process-kill STOP of 3 victims)   revert class 0, injected first
#   hold  (conn-exhaust tcp, 200 connections) class 2
#   fill  (disk-fill 48M on a tmpfs of ours)  class 3, injected last
# so that the reverse of the injection order (the old order) and the
# cheapest-first order (the new one) disagree: stop must come back first.
# Set RO_VICTIM (a process name no other test uses), then source this
# first: it re-runs the test in its own mount namespace and sources lib.sh.
. "$TOP/tests/integration/journal-lib.sh"
in_own_mount_ns "$@"
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/journal-lib.sh"
M=$T/m
mount_tmpfs "$M" 96m
"$TOP/tests/lib/tcp-hold-listener" "$T/port" "$T/stats" &
PIDS="$PIDS $!"
wait_for 10 test -s "$T/port" || fail "listener did not start"
PORT=$(cat "$T/port")
cx_stat() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/stats"; }
held() { [ "$(cx_stat open)" = "$1" ]; }
used() { df -B1 --output=used "$M" | tail -n 1; }
BASE=$(used)
used_is() { [ "$(used)" = "$1" ]; }
filled() { [ "$(used)" -ge $((BASE + 48 * 1024 * 1024)) ]; }
VICS=""
for _i in 1 2 3; do mkvictim "$RO_VICTIM"; VICS="$VICS $VICTIM"; done
all_state() { for _v in $VICS; do is_state "$_v" "$1" || return 1; done; }
none_stopped() { for _v in $VICS; do not_state "$_v" T || return 1; done; }

write_agent_config "
[guard]
allow_path = $M
max_fill = 97%"
start_agent
cat >"$T/x.ini" <<EOX
[experiment]
name = revert-order
duration = 5m

[fault "stop"]
type = process-kill
process = $RO_VICTIM
all = yes
signal = STOP

[fault "hold"]
type = conn-exhaust
target = 127.0.0.1:$PORT
protocol = tcp
connections = 200

[fault "fill"]
type = disk-fill
path = $M
size = 48M
EOX
ID=$(ctl run "$T/x.ini" --detach) || { cat "$T/agent.log"; fail "run"; }
wait_for 10 all_state T || fail "victims not stopped"
wait_for 20 held 200 || fail "200 connections not held: $(cat "$T/stats")"
wait_for 10 filled || fail "tmpfs not filled: $(used) from $BASE"
ok "held: 3 stopped, $(cat "$T/stats"), tmpfs $(used) bytes used"
