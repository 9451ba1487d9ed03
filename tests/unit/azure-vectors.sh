#!/bin/sh
# tests/unit/azure-vectors.sh - the independent Python Shared Key signer
# (tests/unit/data/azure-gen.py) reproduces Microsoft's published vectors
# and every committed one, so that test_azb checks the C signer against
# two implementations' agreement, not against its own output.
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/data/azure-gen.py" --check
