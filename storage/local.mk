# storage/: the object engine (libstorage.a). No HTTP here.
noinst_LIBRARIES += storage/libstorage.a
storage_libstorage_a_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ISAL_CFLAGS) \
	$(SQLITE_CFLAGS) $(JANSSON_CFLAGS)
storage_libstorage_a_SOURCES = \
	storage/engine.h

# primitives: AES-GCM and keys, Reed-Solomon (digests are in common/)
storage_libstorage_a_SOURCES += \
	storage/crypto.h storage/erasure.h storage/crypto.c storage/erasure.c

# engine core: disk set, shard files, index, objects, multipart, gc/heal
storage_libstorage_a_SOURCES += \
	storage/diskset.c storage/diskset.h \
	storage/shard.c storage/shard.h storage/segment.c storage/segment.h \
	storage/index.c storage/index.h storage/fvfs.c storage/fvfs.h \
	storage/engine_int.h storage/engine.c \
	storage/object.c storage/multipart.c storage/gc.c

# which index rules which disks: identity checks at open, snapshot
# generations, coffer restore-index
storage_libstorage_a_SOURCES += \
	storage/identity.c storage/identity.h storage/snapshot.c storage/snapshot.h \
	storage/restore.c \
	storage/catalog.c storage/catalog.h storage/journal.c storage/journal.h \
	storage/jrnrec.c storage/manifest.c storage/manifest.h
