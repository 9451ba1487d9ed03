# tests/peers/: harnesses for real servers coffer did not write (a Ceph RGW
# cluster, Azurite), for tier tests and `make bench`; their smoke tests keep
# them working (a real round trip against each, then a clean stop).
TESTS += tests/peers/test_rgw.sh tests/peers/test_azurite.sh
EXTRA_DIST += tests/peers/test_rgw.sh tests/peers/test_azurite.sh \
	tests/peers/peer.sh tests/peers/rgw.sh tests/peers/azurite.sh \
	tests/peers/rgw_roundtrip.py tests/peers/azure_roundtrip.py \
	tests/peers/package.json tests/peers/package-lock.json
