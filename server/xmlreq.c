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

/* <VersioningConfiguration><Status/><MfaDelete/> */
static const xmlread_limits versioning_limits = {
    .max_elements = 8, .max_depth = 2, .max_text = 32,
};

/* <ObjectLockConfiguration><ObjectLockEnabled/><Rule><DefaultRetention>
 * <Mode/><Days/><Years/></DefaultRetention></Rule> */
static const xmlread_limits lock_config_limits = {
    .max_elements = 16, .max_depth = 4, .max_text = 32,
};

/* <Retention><Mode/><RetainUntilDate/> and <LegalHold><Status/> */
static const xmlread_limits retention_limits = {
    .max_elements = 8, .max_depth = 2, .max_text = 64,
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

/* The one child named name (NULL if absent); CF_EINVAL if repeated. */
static int only_child(const xmlread_node *n, const char *name, const xmlread_node **out,
                      cf_err *err)
{
    *out = NULL;
    for (const xmlread_node *c = n->children; c; c = c->next)
        if (xmlread_is(c, name)) {
            if (*out)
                return cf_fail(err, CF_EINVAL, "more than one %s", name);
            *out = c;
        }
    return 0;
}

/* Every child of n must be one of names (NULL-terminated): S3's schema
 * has no other, and a misspelt element must not be ignored silently. */
static int only_known(const xmlread_node *n, const char *const *names, cf_err *err)
{
    for (const xmlread_node *c = n->children; c; c = c->next) {
        bool known = false;
        for (size_t i = 0; names[i] && !known; i++)
            known = xmlread_is(c, names[i]);
        if (!known)
            return cf_fail(err, CF_EINVAL, "unexpected element %.64s in %s", c->name,
                           n->name);
    }
    return 0;
}

int xmlreq_versioning_parse(const char *body, size_t len, xmlread_doc **doc, int *status,
                            cf_err *err)
{
    static const char *const known[] = {"Status", "MfaDelete", NULL};
    if (xmlread_parse(body, len, "VersioningConfiguration", &versioning_limits, doc, err) <
        0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc), *st, *mfa;
    if (only_known(root, known, err) < 0 || only_child(root, "Status", &st, err) < 0 ||
        only_child(root, "MfaDelete", &mfa, err) < 0)
        return -1;
    if (mfa && strcmp(mfa->text, "Disabled") != 0)
        return cf_fail(err, strcmp(mfa->text, "Enabled") == 0 ? CF_ENOTFOUND : CF_EINVAL,
                       "MfaDelete is Enabled or Disabled; coffer has no MFA delete");
    if (st && strcmp(st->text, "Enabled") == 0)
        *status = ST_VERSIONING_ENABLED;
    else if (st && strcmp(st->text, "Suspended") == 0)
        *status = ST_VERSIONING_SUSPENDED;
    else
        return cf_fail(err, CF_EINVAL, "the Status must be Enabled or Suspended");
    return 0;
}

int xmlreq_lock_mode(const char *s)
{
    return strcmp(s, "GOVERNANCE") == 0   ? ST_LOCK_GOVERNANCE
           : strcmp(s, "COMPLIANCE") == 0 ? ST_LOCK_COMPLIANCE : ST_LOCK_NONE;
}

/* A count of days or years: digits, 1..2^31-1 (0 is the handler's error). */
static int retention_count(const xmlread_node *n, uint32_t *out, cf_err *err)
{
    uint64_t v;
    cf_err nerr;
    if (numparse_str(n->text, INT32_MAX, NUMPARSE_LEADING_ZEROS, &v, &nerr) < 0)
        return cf_fail(err, CF_EINVAL, "%s must be a whole number", n->name);
    *out = (uint32_t)v;
    return 0;
}

int xmlreq_lock_config_parse(const char *body, size_t len, xmlread_doc **doc,
                             xmlreq_lock_config *out, cf_err *err)
{
    static const char *const top[] = {"ObjectLockEnabled", "Rule", NULL};
    static const char *const rule_known[] = {"DefaultRetention", NULL};
    static const char *const ret_known[] = {"Mode", "Days", "Years", NULL};
    memset(out, 0, sizeof *out);
    if (xmlread_parse(body, len, "ObjectLockConfiguration", &lock_config_limits, doc,
                      err) < 0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc), *en, *rule, *ret, *mode, *days, *years;
    if (only_known(root, top, err) < 0 || only_child(root, "ObjectLockEnabled", &en, err) < 0 ||
        only_child(root, "Rule", &rule, err) < 0)
        return -1;
    if (!en || strcmp(en->text, "Enabled") != 0)
        return cf_fail(err, CF_EINVAL, "ObjectLockEnabled must be Enabled");
    if (!rule)
        return 0;
    if (only_known(rule, rule_known, err) < 0 ||
        only_child(rule, "DefaultRetention", &ret, err) < 0)
        return -1;
    if (!ret)
        return cf_fail(err, CF_EINVAL, "a Rule needs a DefaultRetention");
    if (only_known(ret, ret_known, err) < 0 || only_child(ret, "Mode", &mode, err) < 0 ||
        only_child(ret, "Days", &days, err) < 0 || only_child(ret, "Years", &years, err) < 0)
        return -1;
    if (!mode || !(out->mode = xmlreq_lock_mode(mode->text)))
        return cf_fail(err, CF_EINVAL, "the Mode must be GOVERNANCE or COMPLIANCE");
    if (!days == !years)
        return cf_fail(err, CF_EINVAL, "a DefaultRetention has Days or Years, not both");
    out->has_rule = true;
    return retention_count(days ? days : years, days ? &out->days : &out->years, err);
}

int xmlreq_retention_parse(const char *body, size_t len, xmlread_doc **doc, int *mode,
                           int64_t *until_ms, cf_err *err)
{
    static const char *const known[] = {"Mode", "RetainUntilDate", NULL};
    *mode = ST_LOCK_NONE;
    *until_ms = 0;
    if (xmlread_parse(body, len, "Retention", &retention_limits, doc, err) < 0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc), *m, *d;
    if (only_known(root, known, err) < 0 || only_child(root, "Mode", &m, err) < 0 ||
        only_child(root, "RetainUntilDate", &d, err) < 0)
        return -1;
    if (!m != !d)
        return cf_fail(err, CF_EINVAL, "a Retention has both a Mode and a RetainUntilDate, "
                       "or neither");
    if (!m)
        return 0;
    if (!(*mode = xmlreq_lock_mode(m->text)))
        return cf_fail(err, CF_EINVAL, "the Mode must be GOVERNANCE or COMPLIANCE");
    if (xmlreq_iso8601(d->text, until_ms) < 0)
        return cf_fail(err, CF_EINVAL, "the RetainUntilDate is not an ISO 8601 date and time");
    return 0;
}

int xmlreq_legal_hold_parse(const char *body, size_t len, xmlread_doc **doc, int *hold,
                            cf_err *err)
{
    static const char *const known[] = {"Status", NULL};
    if (xmlread_parse(body, len, "LegalHold", &retention_limits, doc, err) < 0)
        return -1;
    const xmlread_node *root = xmlread_root(*doc), *st;
    if (only_known(root, known, err) < 0 || only_child(root, "Status", &st, err) < 0)
        return -1;
    if (st && strcmp(st->text, "ON") == 0)
        *hold = ST_HOLD_ON;
    else if (st && strcmp(st->text, "OFF") == 0)
        *hold = ST_HOLD_OFF;
    else
        return cf_fail(err, CF_EINVAL, "the Status must be ON or OFF");
    return 0;
}

/* ---- ISO 8601 ----------------------------------------------------------- */

/* n digits at *p into *v; false if they are not there. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        *v = *v * 10 + (c - '0');
    }
    *p += n;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), valid for every year here. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : len[m - 1];
}

int xmlreq_iso8601(const char *s, int64_t *unix_ms)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || !expect(&p, 'T') || !digits(&p, 2, &h) || !expect(&p, ':') ||
        !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                ms = ms * 10 + (*p - '0');
        if (n == 0 || n > 9)
            return -1;
        for (; n < 3; n++)
            ms *= 10;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                sign * (oh * 3600 + om * 60);
    if (t < 0)
        return -1;
    *unix_ms = t * 1000 + ms;
    return 0;
}
