#!/usr/bin/env bash
# tests/integration/test_tier_restic_azure.sh - test_tier_restic.sh with its
# tier on Azure Blob Storage (Azurite): restic's data/ packs as blobs.
TIER_TYPE=azure exec "$(dirname "$0")/test_tier_restic.sh" "$@"
