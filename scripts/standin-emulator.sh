# Sourced by scripts/cdk-cli-deploy.sh and scripts/aws-standin.sh: a fresh embedded emulator
# standing in for AWS. Plain: no init hooks, no seed, no SFN mock config (faults), no test
# settings; its Lambda worker folders live in (and go with) the caller's log folder.
# Usage: start_standin_emulator PORT LOGDIR   (sets standin_pid; waits until it answers)

port_free() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        echo "port $1 is in use: stop what listens there, or choose another port ($2)"
        return 1
    fi
}

wait_http() {
    local url=$1 deadline=$((SECONDS + 60))
    until curl -fs -o /dev/null "$url"; do
        if ((SECONDS > deadline)); then echo "not ready after 60s: $url"; return 1; fi
        sleep 0.2
    done
}

start_standin_emulator() {
    local port=$1 logs=$2
    mkdir -p "$logs/tmp"
    TMPDIR=$logs/tmp GATEWAY_PORT=$port BIND_HOST=127.0.0.1 AWS_ENDPOINT_URL= \
        .venv/bin/python -m testbed.emulator >"$logs/emulator.log" 2>&1 &
    standin_pid=$!
    wait_http "http://127.0.0.1:$port/_ministack/health"
}
