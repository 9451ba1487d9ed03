/*
 * server/s3_ops.h - the S3 operations cofferd implements, one s3_op each,
 * defined by the handler modules (s3_bucket.c, s3_list.c, s3_object.c,
 * s3_multipart.c, s3_attributes.c, s3_lifecycle.c). router.c chooses an s3_op_id
 * (request.h); s3_op_of
 * (s3_ops.c) gives the s3_op that runs it.
 */
#ifndef SRV_S3_OPS_H
#define SRV_S3_OPS_H

#include "server/request.h"

/* The handler's s3_op for a router choice; NULL for S3OP_NONE. */
const s3_op *s3_op_of(s3_op_id id);

/* s3_bucket.c */
extern const s3_op op_list_buckets, op_create_bucket, op_delete_bucket,
    op_head_bucket, op_get_bucket_location, op_get_bucket_versioning,
    op_put_bucket_versioning, op_get_bucket_acl, op_get_object_acl,
    op_get_bucket_encryption, op_put_bucket_encryption, op_delete_bucket_encryption;
/* s3_list.c */
extern const s3_op op_list_objects_v1, op_list_objects_v2,
    op_list_object_versions, op_list_uploads, op_list_parts;
/* s3_object.c */
extern const s3_op op_put_object, op_get_object, op_head_object,
    op_delete_object, op_delete_objects, op_copy_object;
/* s3_object.c: the streamed-PUT steps, shared with UploadPart. begin
 * checks the headers and opens r->put (upload_id NULL for a plain PUT);
 * finish verifies, commits, fills r->info and sets the ETag/checksum/SSE
 * response headers. Each sets the error response and returns -1 on
 * failure. */
int s3_put_begin(s3_req *r, const char *upload_id, uint32_t part);
void s3_put_data(s3_req *r, const char *p, size_t n, cks_state *hash);
int s3_put_finish(s3_req *r);
/* s3_lock.c: the lock operations; and for the write and read handlers:
 * the x-amz-object-lock-* headers into opts (*asked: any was sent;
 * InvalidArgument if malformed), an engine refusal of a lock as S3 words
 * it, and the lock headers of a GET/HEAD answer. */
extern const s3_op op_put_lock_config, op_get_lock_config, op_put_retention,
    op_get_retention, op_put_legal_hold, op_get_legal_hold;
int s3_lock_headers(s3_req *r, st_write_opts *opts);
void s3_lock_failed(s3_req *r, const cf_err *err);
void s3_lock_answer_headers(s3_req *r, const st_object_info *o);
/* s3_lifecycle.c */
extern const s3_op op_put_bucket_lifecycle, op_get_bucket_lifecycle,
    op_delete_bucket_lifecycle, op_put_object_tagging, op_get_object_tagging,
    op_delete_object_tagging, op_restore_object;
/* s3_multipart.c */
extern const s3_op op_create_upload, op_upload_part, op_upload_part_copy,
    op_complete_upload, op_abort_upload;
/* s3_attributes.c: GetObjectAttributes, and its x-amz-object-attributes
 * list ("ETag,Checksum,..."; names as S3 spells them, comma separated,
 * spaces allowed) into a mask of 1 << s3_attr: -1 for an unknown name or
 * an empty list. */
extern const s3_op op_get_object_attributes;
typedef enum s3_attr {
    S3_ATTR_ETAG, S3_ATTR_CHECKSUM, S3_ATTR_OBJECT_PARTS, S3_ATTR_STORAGE_CLASS,
    S3_ATTR_OBJECT_SIZE, S3_ATTR_COUNT
} s3_attr;
int s3_attributes_parse(const char *v, unsigned *mask);

#endif
