#!/usr/bin/env bash
# tests/integration/tier_recover_azure.sh - tier_recover.sh with its tier
# on Azure Blob Storage (Azurite): coffer tier recover lists the
# container with List Blobs and puts every version back from its blob.
TIER_TYPE=azure exec "$(dirname "$0")/tier_recover.sh" "$@"
