#!/usr/bin/env bash
# tests/integration/test_awscli_https.sh - test_awscli.sh over HTTPS: the
# same aws cli v1 and v2 suite, the CRC32 checksums of v1 as an aws-chunked
# trailer. Its own script so that make -j2 check runs it beside the HTTP
# half (test_awscli.sh).
AWSCLI_MODE=https exec "$(dirname "$0")/test_awscli.sh" "$@"
