/*
 * server/xmlreq.c - the request-body parsers (contract in xmlreq.h). Each
 * operation's bounds sit next to its parser: the number of elements S3's
 * schema allows for the operation's largest legal document, its depth,
 * and the longest text an element of it may carry. The reader stops at
 * the first byte over them; these functions then check the structure.
 */
#include "server/xmlreq.h"

#include <string.h>
#include <strings.h>

#include "common/numparse.h"

/* <Delete><Quiet/><Object><Key/><VersionId/><ETag/><LastModifiedTime/>
 * <Size/></Object>...: a key of 1,024 bytes may take 6 KiB as character
 * references; a longer one still parses, to get its own KeyTooLongError. */
static const xmlread_limits delete_limits = {
    .max_elements = 2 + XMLREQ_DELETE_MAX * 6, .max_depth = 3, .max_text = 8 * ST_MAX_KEY,
};

/* <CompleteMultipartUpload><Part><PartNumber/><ETag/><ChecksumX/></Part>... */
static const xmlread_limits complete_limits = {
    .max_elements = 1 + ST_MAX_PARTS * 4, .max_depth = 3, .max_text = 256,
};

/* <CreateBucketConfiguration><LocationConstraint/><Location><Name/><Type/>
 * </Location><Bucket><DataRedundancy/><Type/></Bucket> */
static const xmlread_limits location_limits = {
    .max_elements = 16, .max_depth = 3, .max_text = 64,
};

/* <ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>
 * <SSEAlgorithm/><KMSMasterKeyID/></ApplyServerSideEncryptionByDefault>
 * <BucketKeyEnabled/></Rule>: one rule (S3 takes one); a KMS key ARN is
 * at most 2,048 bytes. */
static const xmlread_limits encryption_limits = {
    .max_elements = 16, .max_depth = 4, .max_text = 2048,
};

static size_t count_children(const xmlread_node *n, const char *name)
{
    size_t count = 0;
    for (const xmlread_node *c = n->children; c; c = c->next)
        count += xmlread_is(c, name);
    return count;
}

int xmlreq_delete_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                        xmlreq_delete *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    if (xmlread_parse(body, len, "Delete", &delete_limits, doc, err) < 0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc);
    const char *q = xmlread_child_text(root, "Quiet");
    out->quiet = q && strcasecmp(q, "true") == 0;
    size_t n = count_children(root, "Object");
    if (n == 0)
        return cf_fail(err, CF_EINVAL, "no Object to delete");
    if (n > XMLREQ_DELETE_MAX)
        return cf_fail(err, CF_EINVAL, "At most %d keys may be deleted in one request",
                       XMLREQ_DELETE_MAX);
    if (!(out->objects = pool_alloc(p, n * sizeof *out->objects)))
        return cf_fail(err, CF_ENOMEM, "out of memory");
    for (const xmlread_node *c = root->children; c; c = c->next) {
        if (!xmlread_is(c, "Object"))
            continue;
        xmlreq_object *o = &out->objects[out->nobjects++];
        o->key = xmlread_child_text(c, "Key");
        o->version_id = xmlread_child_text(c, "VersionId");
        if (!o->key)
            return cf_fail(err, CF_EINVAL, "an Object without a Key");
    }
    return 0;
}

int xmlreq_complete_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                          st_complete_part **parts, size_t *nparts, cf_err *err)
{
    if (xmlread_parse(body, len, "CompleteMultipartUpload", &complete_limits, doc, err) < 0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc);
    size_t n = count_children(root, "Part");
    if (n == 0 || n > ST_MAX_PARTS)
        return cf_fail(err, CF_EINVAL, "a completion lists 1 to %d parts", ST_MAX_PARTS);
    st_complete_part *out = pool_alloc(p, n * sizeof *out);
    if (!out)
        return cf_fail(err, CF_ENOMEM, "out of memory");
    size_t i = 0;
    for (const xmlread_node *c = root->children; c; c = c->next) {
        if (!xmlread_is(c, "Part"))
            continue;
        const char *num = xmlread_child_text(c, "PartNumber");
        uint64_t pn;
        cf_err nerr;
        if (!num || numparse_str(num, ST_MAX_PARTS, NUMPARSE_LEADING_ZEROS, &pn, &nerr) < 0 ||
            pn < 1)
            return cf_fail(err, CF_EINVAL, "a Part needs a PartNumber of 1 to %d",
                           ST_MAX_PARTS);
        out[i].part_number = (uint32_t)pn;
        if (!(out[i].etag = xmlread_child_text(c, "ETag")))
            return cf_fail(err, CF_EINVAL, "a Part without an ETag");
        out[i].checksum_b64 = NULL;
        for (const xmlread_node *k = c->children; k; k = k->next) {
            cks_algo algo = strncmp(k->name, "Checksum", 8) == 0
                ? cks_algo_from_name(k->name + 8) : CKS_NONE;
            if (algo != CKS_NONE && algo != CKS_MD5)
                out[i].checksum_b64 = k->text;
        }
        i++;
    }
    *parts = out;
    *nparts = n;
    return 0;
}

int xmlreq_encryption_parse(const char *body, size_t len, xmlread_doc **doc,
                            xmlreq_encryption *out, cf_err *err)
{
    memset(out, 0, sizeof *out);
    if (xmlread_parse(body, len, "ServerSideEncryptionConfiguration", &encryption_limits,
                      doc, err) < 0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc);
    if (count_children(root, "Rule") != 1)
        return cf_fail(err, CF_EINVAL, "a ServerSideEncryptionConfiguration has one Rule");
    const xmlread_node *rule = xmlread_child(root, "Rule");
    const xmlread_node *dflt = xmlread_child(rule, "ApplyServerSideEncryptionByDefault");
    out->algorithm = dflt ? xmlread_child_text(dflt, "SSEAlgorithm") : NULL;
    if (!out->algorithm)
        return cf_fail(err, CF_EINVAL, "the Rule has no "
                       "ApplyServerSideEncryptionByDefault/SSEAlgorithm");
    if (strcmp(out->algorithm, "AES256") != 0 && strcmp(out->algorithm, "aws:kms") != 0 &&
        strcmp(out->algorithm, "aws:kms:dsse") != 0)
        return cf_fail(err, CF_EINVAL, "SSEAlgorithm must be AES256, aws:kms or "
                       "aws:kms:dsse");
    out->kms_key = xmlread_child_text(dflt, "KMSMasterKeyID");
    const char *bk = xmlread_child_text(rule, "BucketKeyEnabled");
    if (bk && strcmp(bk, "true") != 0 && strcmp(bk, "false") != 0)
        return cf_fail(err, CF_EINVAL, "BucketKeyEnabled must be true or false");
    out->bucket_key = bk && strcmp(bk, "true") == 0;
    return 0;
}

int xmlreq_location_parse(const char *body, size_t len, xmlread_doc **doc,
                          const char **region, cf_err *err)
{
    *doc = NULL;
    *region = "";
    size_t blank = 0;
    while (blank < len && body[blank] && strchr(" \t\r\n", body[blank]))
        blank++;
    if (blank == len)
        return 0;                        /* no configuration: this region */
    if (xmlread_parse(body, len, "CreateBucketConfiguration", &location_limits, doc,
                      err) < 0)
        return -1;
    const char *lc = xmlread_child_text(xmlread_root(*doc), "LocationConstraint");
    if (lc)
        *region = lc;
    return 0;
}
