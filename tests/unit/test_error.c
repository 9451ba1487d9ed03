/* tests/unit/test_error.c - the cf_err reporting helpers. */
#include "common/error.h"
#include "tests/unit/test.h"

#include <errno.h>

static void fail_sets_code_and_message(void)
{
    cf_err err;
    CHECK_EQ_INT(cf_fail(&err, CF_EINVAL, "bad %s %d", "thing", 7), -1);
    CHECK_EQ_INT(err.code, CF_EINVAL);
    CHECK_EQ_STR(err.msg, "bad thing 7");
    CHECK_EQ_STR(cf_code_name(err.code), "EINVAL");
}

static void fail_errno_appends_reason_and_maps_enospc(void)
{
    cf_err err;
    cf_fail_errno(&err, CF_EIO, ENOSPC, "write %s", "x");
    CHECK_EQ_INT(err.code, CF_ENOSPC);
    CHECK(strstr(err.msg, "write x: ") == err.msg);
    cf_fail_errno(&err, CF_EIO, EIO, "read");
    CHECK_EQ_INT(err.code, CF_EIO);
}

static void long_messages_are_truncated_not_overflowed(void)
{
    cf_err err;
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cf_fail(&err, CF_EIO, "%s", big);
    CHECK_EQ_INT(strlen(err.msg), CF_ERRMSG_MAX - 1);
    CHECK_EQ_INT(cf_fail(NULL, CF_EIO, "ignored"), -1);
    CHECK_EQ_STR(cf_code_name((cf_code)999), "EUNKNOWN");
}

TEST_MAIN("error",
          T(fail_sets_code_and_message),
          T(fail_errno_appends_reason_and_maps_enospc),
          T(long_messages_are_truncated_not_overflowed))
