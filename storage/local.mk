# storage/: the object engine (libstorage.a). No HTTP here.
noinst_LIBRARIES += storage/libstorage.a
storage_libstorage_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ISAL_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS)
storage_libstorage_a_SOURCES = \
	storage/engine.h

# primitives: AES-GCM and keys, Reed-Solomon (digests are in common/)
storage_libstorage_a_SOURCES += \
	storage/crypto.h storage/rs.h storage/crypto.c storage/rs.c \
	storage/gcm.c storage/gcm.h

# the layers below the engine: disk set, shard files, the segment pipeline
# (writer with its I/O thread, reader, heal and import), the index
storage_libstorage_a_SOURCES += \
	storage/ds.c storage/ds.h \
	storage/shard.c storage/shard.h storage/pack.c storage/pack.h storage/segment.h storage/segment_int.h \
	storage/shardout.c storage/shardout.h storage/segwrite.c storage/segread.c \
	storage/segment.c storage/segcheck.c \
	storage/gsync.c storage/gsync.h storage/index.c storage/index.h storage/fvfs.c storage/fvfs.h

# the engine, one file per concern (engine_int.h lists them): the engine
# object and the KEK cache; a file per table (tenants, access keys,
# buckets, objects and segments, uploads and parts, the two queues); the
# PUT, GET, listing and sealed-stream paths; GC
storage_libstorage_a_SOURCES += \
	storage/engine_int.h storage/engine.c storage/kek.c storage/headers.c \
	storage/tenant.c storage/quota.c storage/key.c storage/bucket.c storage/object.c \
	storage/upload.c storage/deleteq.c storage/packidx.c storage/compact.c storage/heal.c \
	storage/put.c storage/get.c storage/list.c storage/sealed.c storage/gc.c \
	storage/scrub.c storage/stats.c

# which index rules which disks: identity checks at open, snapshot
# generations, coffer restore-index
storage_libstorage_a_SOURCES += \
	storage/identity.c storage/identity.h storage/snapshot.c storage/snapshot.h \
	storage/restore.c storage/rebuild.c \
	storage/catalog.c storage/catalog.h storage/journal.c storage/journal.h \
	storage/jrnrec.c storage/manifest.c storage/manifest.h

# lifecycle and cold tiers: the tier registry, the tiered state machine,
# the remote object format, reading tiered blocks, tags, lifecycle configs
storage_libstorage_a_SOURCES += storage/lifecycle.h \
	storage/tier.c storage/tiering.c storage/tierfmt.c storage/tierread.c storage/tieradopt.c \
	storage/tags.c storage/lcconf.c
