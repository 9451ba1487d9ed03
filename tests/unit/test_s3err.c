/* tests/unit/test_s3err.c - the S3 error table: every code has a name, a
 * status a client understands and a non-empty message; engine codes map to
 * the errors clients branch on. */
#include "server/s3err.h"
#include "server/xml.h"
#include "tests/unit/test.h"

static void table_is_complete(void)
{
    for (int e = 0; e < S3E_COUNT; e++) {
        CHECK(s3err_code(e) && *s3err_code(e));
        CHECK(s3err_message(e) && *s3err_message(e));
        CHECK(s3err_status(e) >= 300 && s3err_status(e) < 600);
    }
    CHECK_EQ_INT(s3err_status(S3E_NoSuchKey), 404);
    CHECK_EQ_INT(s3err_status(S3E_InvalidRange), 416);
    CHECK_EQ_INT(s3err_status(S3E_MissingContentLength), 411);
    CHECK_EQ_INT(s3err_status(S3E_BucketNotEmpty), 409);
    CHECK_EQ_INT(s3err_status(S3E_NotImplemented), 501);
}

static void engine_codes_map(void)
{
    CHECK(s3err_from_cf(CF_ENOBUCKET) == S3E_NoSuchBucket);
    CHECK(s3err_from_cf(CF_ENOKEY) == S3E_NoSuchKey);
    CHECK(s3err_from_cf(CF_ENOUPLOAD) == S3E_NoSuchUpload);
    CHECK(s3err_from_cf(CF_EBADPART) == S3E_InvalidPart);
    CHECK(s3err_from_cf(CF_EPARTORDER) == S3E_InvalidPartOrder);
    CHECK(s3err_from_cf(CF_ETOOSMALL) == S3E_EntityTooSmall);
    CHECK(s3err_from_cf(CF_EDIGEST) == S3E_BadDigest);
    CHECK(s3err_from_cf(CF_EBUCKETEXISTS) == S3E_BucketAlreadyOwnedByYou);
    CHECK(s3err_from_cf(CF_EIO) == S3E_InternalError);
    CHECK(s3err_from_cf(CF_ECORRUPT) == S3E_InternalError);
    CHECK(s3err_from_cf(CF_EQUORUM) == S3E_ServiceUnavailable);
}

static void document(void)
{
    sbuf b;
    sbuf_init(&b, 0);
    s3err_xml(&b, S3E_NoSuchKey, "", "/b/k<1>", "RID1");
    CHECK(strstr(b.p, "<Code>NoSuchKey</Code>") != NULL);
    CHECK(strstr(b.p, "<Message>The specified key does not exist</Message>") != NULL);
    CHECK(strstr(b.p, "<Resource>/b/k&lt;1&gt;</Resource>") != NULL);
    CHECK(strstr(b.p, "<RequestId>RID1</RequestId>") != NULL);
    sbuf_free(&b);
}

TEST_MAIN("s3err",
          T(table_is_complete),
          T(engine_codes_map),
          T(document))
