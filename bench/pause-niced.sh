#!/bin/bash
# pause-niced.sh CMD...: run CMD while every niced (NI >= 5) process is paused with SIGSTOP
# (re-checked every 2 s), resuming them all at the end. Simulations are deterministic,
# so pausing them changes nothing but their wall time.
stopped=/tmp/quiet.$$.pids
: > $stopped
( while true; do
    for p in $(ps -eo pid=,ni= | awk '$2>=5{print $1}'); do
      if kill -STOP $p 2>/dev/null; then echo $p >> $stopped; fi
    done
    sleep 2
  done ) &
loop=$!
trap 'kill $loop 2>/dev/null; sort -u $stopped | xargs -r kill -CONT 2>/dev/null; rm -f $stopped' EXIT
sleep 0.5
"$@"
