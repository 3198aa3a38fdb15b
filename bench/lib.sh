# bench/lib.sh — helpers the benchmark scripts share; sourced after
# BENCH_NAME (the script's name, for messages) is set, from the repository
# root.

# A free TCP port on 127.0.0.1 (asked of the kernel, then released).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ms() { date +%s%3N; }

# Wait until a URL answers (any HTTP status), up to 20 s, while process
# $2 lives; on failure show the end of log $3.
wait_http() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 1 200); do
        if curl -s -o /dev/null "$url"; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$BENCH_NAME: process exited early; log:" >&2; tail -n 30 "$log" >&2; return 1
        fi
        sleep 0.1
    done
    echo "$BENCH_NAME: $url did not answer in 20 s; log:" >&2; tail -n 30 "$log" >&2
    return 1
}

# The commit measured: short hash, "-dirty" when tracked files (other than
# the results) differ from it.
bench_commit() {
    local c
    c=$(git rev-parse --short HEAD 2>/dev/null || echo none)
    if [ "$c" != none ] && [ -n "$(git status --porcelain --untracked-files=no -- . ':!bench/results' 2>/dev/null)" ]; then
        c="$c-dirty"
    fi
    echo "$c"
}
