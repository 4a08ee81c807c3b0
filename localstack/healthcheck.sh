#!/bin/bash
# The emulator container's HEALTHCHECK: healthy once the emulator answers and its ready.d hooks
# (the deploy) completed, none failed. bash's /dev/tcp, not Python: it runs every 2 s for the
# container's life, and a Python check costs ~0.1 s of CPU each time, this one milliseconds.
# TESTBED_READY=localstack reads LocalStack's readiness endpoint (docker-compose.localstack.yml),
# else MiniStack's.
if [[ ${TESTBED_READY:-ministack} == localstack ]]; then path=/_localstack/init/ready; else path=/_ministack/ready; fi
exec 3<>/dev/tcp/127.0.0.1/"${GATEWAY_PORT:-4566}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
IFS= read -r -t 2 status <&3 || exit 1
[[ $status =~ ^HTTP/1\.[01]\ 200\  ]] || exit 1
body=
while IFS= read -r -t 2 line <&3 || [[ -n $line ]]; do body+=$line; done
if [[ $path == /_localstack/* ]]; then
    # e.g. {"completed": true, "scripts": [{"stage": "READY", "name": "10-seed.sh", "state": "SUCCESSFUL"}]}
    [[ $body =~ \"completed\":\ *true && $body =~ \"state\":\ *\"SUCCESSFUL\" && ! $body =~ \"state\":\ *\"ERROR\" ]]
else
    # e.g. {"status": "completed", "total": 1, "completed": 1, "failed": 0, ...}
    [[ $body =~ \"status\":\ *\"completed\" && $body =~ \"failed\":\ *0[,}] ]]
fi
