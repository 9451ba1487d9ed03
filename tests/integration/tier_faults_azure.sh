#!/usr/bin/env bash
# tests/integration/tier_faults_azure.sh - tier_faults.sh with its tier on
# Azure Blob Storage (Azurite behind faultproxy.py): 500/503 answers,
# slowness, cut and corrupted transfers, a restore while the blob is
# still rehydrating from Archive, SIGKILLs during transitions. The kills
# are 25 here, not 50: what they test beyond the S3 run (the sweep of
# blocks an upload staged but never committed) is hit within 25, and the
# time goes to the Azure cases instead (make soak runs 500 against S3).
TIER_TYPE=azure TIER_KILLS=${TIER_KILLS:-25} exec "$(dirname "$0")/tier_faults.sh" "$@"
