#!/usr/bin/env bash
# tests/integration/tier_faults_azure.sh - tier_faults.sh with its tier on
# Azure Blob Storage (Azurite behind faultproxy.py): 500/503 answers,
# slowness, cut and corrupted transfers, SIGKILLs during transitions.
TIER_TYPE=azure exec "$(dirname "$0")/tier_faults.sh" "$@"
