/*
 * server/s3_ops.c - which handler runs each operation the router can
 * choose: the one table from s3_op_id to the s3_op its handler module
 * defines. Kept apart from router.c so that routing links without the
 * handlers (and the engine they call).
 */
#include "server/s3_ops.h"

#include <stddef.h>

static const s3_op *const ops[S3OP_COUNT] = {
    [S3OP_LIST_BUCKETS] = &op_list_buckets,
    [S3OP_CREATE_BUCKET] = &op_create_bucket,
    [S3OP_DELETE_BUCKET] = &op_delete_bucket,
    [S3OP_HEAD_BUCKET] = &op_head_bucket,
    [S3OP_GET_BUCKET_LOCATION] = &op_get_bucket_location,
    [S3OP_GET_BUCKET_VERSIONING] = &op_get_bucket_versioning,
    [S3OP_PUT_BUCKET_VERSIONING] = &op_put_bucket_versioning,
    [S3OP_GET_BUCKET_ACL] = &op_get_bucket_acl,
    [S3OP_PUT_LOCK_CONFIG] = &op_put_lock_config,
    [S3OP_GET_LOCK_CONFIG] = &op_get_lock_config,
    [S3OP_PUT_RETENTION] = &op_put_retention,
    [S3OP_GET_RETENTION] = &op_get_retention,
    [S3OP_PUT_LEGAL_HOLD] = &op_put_legal_hold,
    [S3OP_GET_LEGAL_HOLD] = &op_get_legal_hold,
    [S3OP_GET_OBJECT_ACL] = &op_get_object_acl,
    [S3OP_LIST_OBJECTS_V1] = &op_list_objects_v1,
    [S3OP_LIST_OBJECTS_V2] = &op_list_objects_v2,
    [S3OP_LIST_OBJECT_VERSIONS] = &op_list_object_versions,
    [S3OP_LIST_UPLOADS] = &op_list_uploads,
    [S3OP_LIST_PARTS] = &op_list_parts,
    [S3OP_PUT_OBJECT] = &op_put_object,
    [S3OP_GET_OBJECT] = &op_get_object,
    [S3OP_HEAD_OBJECT] = &op_head_object,
    [S3OP_DELETE_OBJECT] = &op_delete_object,
    [S3OP_DELETE_OBJECTS] = &op_delete_objects,
    [S3OP_COPY_OBJECT] = &op_copy_object,
    [S3OP_CREATE_UPLOAD] = &op_create_upload,
    [S3OP_UPLOAD_PART] = &op_upload_part,
    [S3OP_UPLOAD_PART_COPY] = &op_upload_part_copy,
    [S3OP_COMPLETE_UPLOAD] = &op_complete_upload,
    [S3OP_ABORT_UPLOAD] = &op_abort_upload,
    [S3OP_GET_OBJECT_ATTRIBUTES] = &op_get_object_attributes,
    [S3OP_GET_BUCKET_ENCRYPTION] = &op_get_bucket_encryption,
    [S3OP_PUT_BUCKET_ENCRYPTION] = &op_put_bucket_encryption,
    [S3OP_DELETE_BUCKET_ENCRYPTION] = &op_delete_bucket_encryption,
    [S3OP_PUT_BUCKET_LIFECYCLE] = &op_put_bucket_lifecycle,
    [S3OP_GET_BUCKET_LIFECYCLE] = &op_get_bucket_lifecycle,
    [S3OP_DELETE_BUCKET_LIFECYCLE] = &op_delete_bucket_lifecycle,
    [S3OP_PUT_OBJECT_TAGGING] = &op_put_object_tagging,
    [S3OP_GET_OBJECT_TAGGING] = &op_get_object_tagging,
    [S3OP_DELETE_OBJECT_TAGGING] = &op_delete_object_tagging,
    [S3OP_RESTORE_OBJECT] = &op_restore_object,
};

const s3_op *s3_op_of(s3_op_id id)
{
    return id > S3OP_NONE && id < S3OP_COUNT ? ops[id] : NULL;
}
