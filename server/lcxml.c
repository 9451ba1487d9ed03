/*
 * server/lcxml.c - lifecycle configurations, tag sets and restore requests
 * (contract in lcxml.h).
 *
 * Each document's bounds sit next to its parser, as in xmlreq.c: the
 * reader refuses a document over them at the byte that crosses them, and
 * these functions then check S3's schema and rules. The bounds leave room
 * past S3's own limits (1,001 rules, 50 tags) so that a document just over
 * a limit gets S3's specific error instead of a generic MalformedXML.
 *
 * Validation follows what S3 answers (status and code): MalformedXML for
 * what the schema forbids (a missing Status, Days and Date together, two
 * filters), InvalidArgument for bad values (a day count below one, a date
 * not at midnight UTC, duplicate IDs, a storage class used twice in a
 * rule), InvalidRequest for rules that contradict themselves (no action,
 * duplicate tag keys, sizes that select nothing, AbortIncompleteMultipart-
 * Upload with a tag filter, Date and Days transitions mixed).
 *
 * The actions on versions: NoncurrentVersionExpiration (once) and
 * NoncurrentVersionTransition (several, each to another storage class)
 * take NoncurrentDays >= 1 (required) and NewerNoncurrentVersions 1..100
 * (optional), InvalidArgument outside; the expiration's days must be
 * later than every noncurrent transition's. ExpiredObjectDeleteMarker is
 * true or false, alone in its Expiration (MalformedXML with Days or
 * Date), and not with a tag filter (a marker has no tags: InvalidRequest).
 */
#include "server/lcxml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "common/numparse.h"
#include "storage/lifecycle.h"

/* <LifecycleConfiguration><Rule><ID/><Status/><Prefix/><Filter><And><Prefix/>
 * <Tag><Key/><Value/></Tag>x10<ObjectSizeGreaterThan/><ObjectSizeLessThan/>
 * </And></Filter><Expiration><Days/></Expiration><Transition><Days/>
 * <StorageClass/></Transition>...<AbortIncompleteMultipartUpload>
 * <DaysAfterInitiation/></...></Rule>: 64 elements leave room for a rule
 * with every part and ten tags; prefixes of 1,024 bytes may be written
 * as character references. */
static const xmlread_limits lifecycle_limits = {
    .max_elements = 1 + (LCXML_MAX_RULES + 1) * 64, .max_depth = 6,
    .max_text = 8 * ST_MAX_KEY,
};

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>... up to 50 tags parse (more
 * than 10 is InvalidTag), tag values of 256 characters as references. */
static const xmlread_limits tagging_limits = {
    .max_elements = 2 + 50 * 3, .max_depth = 4, .max_text = 8 * 4 * ST_MAX_TAG_VALUE,
};

/* <RestoreRequest><Days/><GlacierJobParameters><Tier/></...><Type/>
 * <Tier/><Description/>...: the glacier and select fields, not their
 * contents (SELECT is refused). */
static const xmlread_limits restore_limits = {
    .max_elements = 32, .max_depth = 4, .max_text = 1024,
};

static int fail(lcxml_err *err, lcxml_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(lcxml_err *err, lcxml_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* The reader refused the document: MalformedXML (or out of memory). */
static int reader_failed(lcxml_err *err, const cf_err *cerr)
{
    return fail(err, cerr->code == CF_ENOMEM ? LCXML_NO_MEMORY : LCXML_MALFORMED, "%s",
                cerr->msg);
}

static size_t count_children(const xmlread_node *n, const char *name)
{
    size_t count = 0;
    for (const xmlread_node *c = n->children; c; c = c->next)
        count += xmlread_is(c, name);
    return count;
}

/* Every child of n is named in allowed (S3's schema has no others). */
static const char *unknown_child(const xmlread_node *n, const char *const *allowed)
{
    for (const xmlread_node *c = n->children; c; c = c->next) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], c->name) != 0)
            i++;
        if (!allowed[i])
            return c->name;
    }
    return NULL;
}

/* ---- values --------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    cf_err e;
    return s ? numparse_str(s, max, NUMPARSE_LEADING_ZEROS, out, &e) : -1;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* ISO 8601: YYYY-MM-DD, or with THH:MM:SS[.fff] and Z or +00:00. -1 if
 * malformed, 1 if not at midnight UTC, 0 with *out. */
static int parse_date(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t n = strlen(s);
    if (n < 10 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
        s[7] != '-' || digits(s + 8, 2, &d) < 0)
        return -1;
    const char *p = s + 10;
    if (*p == 'T') {
        if (strlen(p) < 9 || digits(p + 1, 2, &h) < 0 || p[3] != ':' ||
            digits(p + 4, 2, &mi) < 0 || p[6] != ':' || digits(p + 7, 2, &sec) < 0)
            return -1;
        p += 9;
        if (*p == '.') {
            p++;
            size_t frac = strspn(p, "0123456789");
            if (frac == 0)
                return -1;
            for (size_t i = 0; i < frac; i++)
                if (p[i] != '0')
                    sec = 61;        /* a fraction of a second: not midnight */
            p += frac;
        }
        if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
            return -1;
    } else if (*p) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 61 || y < 1970)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != mo - 1)
        return -1;                       /* 2026-02-30 */
    *out = (int64_t)t;
    return h || mi || sec ? 1 : 0;
}

/* Days or Date of an action element (exactly one of them). */
static int parse_when(const lcxml_rule *r, const xmlread_node *n, const char *action,
                      bool zero_days, lcxml_when *w, lcxml_err *err)
{
    const char *days = xmlread_child_text(n, "Days");
    const char *date = xmlread_child_text(n, "Date");
    if (count_children(n, "Days") > 1 || count_children(n, "Date") > 1 || (days && date))
        return fail(err, LCXML_MALFORMED, "Rule %s: %s takes Days or Date, not both",
                    r->name, action);
    if (!days && !date)
        return 1;
    w->set = true;
    if (days) {
        uint64_t v;
        if (parse_u64(days, 2147483647, &v) < 0 || (v == 0 && !zero_days))
            return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'Days' for %s action must "
                        "be a %s integer", r->name, action,
                        zero_days ? "non-negative" : "positive");
        w->days = (int64_t)v;
        return 0;
    }
    w->by_date = true;
    int rc = parse_date(date, &w->date_s);
    if (rc < 0)
        return fail(err, LCXML_MALFORMED, "Rule %s: %s 'Date' is not an ISO 8601 date",
                    r->name, action);
    if (rc > 0)
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'Date' must be at midnight GMT",
                    r->name);
    return 0;
}

/* <Tag><Key/><Value/></Tag> into t. */
static int parse_tag(const lcxml_rule *r, const xmlread_node *n, st_header *t,
                     lcxml_err *err)
{
    const char *k = xmlread_child_text(n, "Key"), *v = xmlread_child_text(n, "Value");
    if (!k || !v || count_children(n, "Key") > 1 || count_children(n, "Value") > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: a Tag needs one Key and one Value",
                    r ? r->name : "");
    t->name = (char *)k;
    t->value = (char *)v;
    return 0;
}

static int parse_size(const lcxml_rule *r, const xmlread_node *n, uint64_t *out,
                      lcxml_err *err)
{
    if (parse_u64(n->text, UINT64_MAX, out) < 0)
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: %s must be a non-negative "
                    "integer", r->name, n->name);
    return 0;
}

/* The predicates of <Filter> or <And> (in_and: several allowed). */
static int parse_predicates(lcxml_rule *r, const xmlread_node *n, bool in_and, pool *p,
                            lcxml_err *err)
{
    static const char *const filter_kids[] = {"Prefix", "Tag", "And",
        "ObjectSizeGreaterThan", "ObjectSizeLessThan", NULL};
    static const char *const and_kids[] = {"Prefix", "Tag", "ObjectSizeGreaterThan",
        "ObjectSizeLessThan", NULL};
    lcxml_filter *f = &r->filter;
    const char *other = unknown_child(n, in_and ? and_kids : filter_kids);
    if (other)
        return fail(err, LCXML_MALFORMED, "Rule %s: %s may not hold %s", r->name,
                    in_and ? "And" : "Filter", other);
    size_t kids = 0, ntags = count_children(n, "Tag");
    for (const xmlread_node *c = n->children; c; c = c->next)
        kids++;
    if (!in_and && kids > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: a Filter holds one of Prefix, Tag, "
                    "ObjectSizeGreaterThan, ObjectSizeLessThan or And", r->name);
    if (count_children(n, "Prefix") > 1 || count_children(n, "ObjectSizeGreaterThan") > 1 ||
        count_children(n, "ObjectSizeLessThan") > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: a predicate appears twice", r->name);
    const xmlread_node *and = xmlread_child(n, "And");
    if (and)
        return parse_predicates(r, and, true, p, err);
    const char *prefix = xmlread_child_text(n, "Prefix");
    if (prefix)
        f->prefix = prefix;
    if (ntags && !(f->tags = pool_alloc(p, ntags * sizeof *f->tags)))
        return fail(err, LCXML_NO_MEMORY, "out of memory");
    for (const xmlread_node *c = n->children; c; c = c->next) {
        if (xmlread_is(c, "Tag")) {
            if (parse_tag(r, c, &f->tags[f->ntags], err) < 0)
                return -1;
            for (size_t i = 0; i < f->ntags; i++)
                if (strcmp(f->tags[i].name, f->tags[f->ntags].name) == 0)
                    return fail(err, LCXML_INVALID_REQUEST, "Rule %s: Duplicate Tag Keys "
                                "are not allowed", r->name);
            f->ntags++;
        } else if (xmlread_is(c, "ObjectSizeGreaterThan")) {
            f->has_gt = true;
            if (parse_size(r, c, &f->size_gt, err) < 0)
                return -1;
        } else if (xmlread_is(c, "ObjectSizeLessThan")) {
            f->has_lt = true;
            if (parse_size(r, c, &f->size_lt, err) < 0)
                return -1;
        }
    }
    if (f->has_lt && f->size_lt == 0)
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: ObjectSizeLessThan must be "
                    "greater than 0", r->name);
    if (f->has_gt && f->has_lt && f->size_gt >= f->size_lt)
        return fail(err, LCXML_INVALID_REQUEST, "Rule %s: ObjectSizeGreaterThan must be "
                    "less than ObjectSizeLessThan", r->name);
    return 0;
}

static int parse_transitions(lcxml_rule *r, const xmlread_node *n, pool *p,
                             lcxml_err *err)
{
    size_t nt = count_children(n, "Transition");
    if (nt == 0)
        return 0;
    if (!(r->transitions = pool_alloc(p, nt * sizeof *r->transitions)))
        return fail(err, LCXML_NO_MEMORY, "out of memory");
    for (const xmlread_node *c = n->children; c; c = c->next) {
        if (!xmlread_is(c, "Transition"))
            continue;
        static const char *const kids[] = {"Days", "Date", "StorageClass", NULL};
        const char *other = unknown_child(c, kids);
        if (other)
            return fail(err, LCXML_MALFORMED, "Rule %s: Transition may not hold %s",
                        r->name, other);
        lcxml_transition *t = &r->transitions[r->ntransitions];
        int rc = parse_when(r, c, "Transition", true, &t->when, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return fail(err, LCXML_MALFORMED, "Rule %s: a Transition needs Days or Date",
                        r->name);
        t->storage_class = xmlread_child_text(c, "StorageClass");
        if (!t->storage_class || !*t->storage_class ||
            count_children(c, "StorageClass") > 1)
            return fail(err, LCXML_MALFORMED, "Rule %s: a Transition needs one "
                        "StorageClass", r->name);
        for (size_t i = 0; i < r->ntransitions; i++) {
            if (strcmp(r->transitions[i].storage_class, t->storage_class) == 0)
                return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'StorageClass' must be "
                            "different for 'Transition' actions in same 'Rule'", r->name);
            if (r->transitions[i].when.by_date != t->when.by_date)
                return fail(err, LCXML_INVALID_REQUEST, "Rule %s: Found mixed 'Date' and "
                            "'Days' based Transition actions in lifecycle rule", r->name);
        }
        r->ntransitions++;
    }
    return 0;
}

/* NoncurrentDays (>= 1), NewerNoncurrentVersions (1..100) and, for a
 * transition, its StorageClass. */
static int parse_noncurrent(const lcxml_rule *r, const xmlread_node *n, bool transition,
                            lcxml_noncurrent *out, lcxml_err *err)
{
    static const char *const exp_kids[] = {"NoncurrentDays", "NewerNoncurrentVersions",
                                           NULL};
    static const char *const tr_kids[] = {"NoncurrentDays", "NewerNoncurrentVersions",
                                          "StorageClass", NULL};
    const char *action = transition ? "NoncurrentVersionTransition"
                                    : "NoncurrentVersionExpiration";
    const char *other = unknown_child(n, transition ? tr_kids : exp_kids);
    if (other)
        return fail(err, LCXML_MALFORMED, "Rule %s: %s may not hold %s", r->name, action,
                    other);
    if (count_children(n, "NoncurrentDays") > 1 ||
        count_children(n, "NewerNoncurrentVersions") > 1 ||
        count_children(n, "StorageClass") > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: an element of %s appears twice",
                    r->name, action);
    const char *days = xmlread_child_text(n, "NoncurrentDays");
    const char *keep = xmlread_child_text(n, "NewerNoncurrentVersions");
    uint64_t v;
    if (!days)
        return fail(err, LCXML_MALFORMED, "Rule %s: %s needs NoncurrentDays", r->name,
                    action);
    if (parse_u64(days, 2147483647, &v) < 0 || v == 0)
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'NoncurrentDays' for %s action "
                    "must be a positive integer", r->name, action);
    out->when = (lcxml_when){.set = true, .days = (int64_t)v};
    if (keep && (parse_u64(keep, 100, &v) < 0 || v == 0))
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'NewerNoncurrentVersions' for "
                    "%s action must be a positive integer up to 100", r->name, action);
    out->keep = keep ? (int64_t)v : 0;
    out->storage_class = transition ? xmlread_child_text(n, "StorageClass") : NULL;
    if (transition && (!out->storage_class || !*out->storage_class))
        return fail(err, LCXML_MALFORMED, "Rule %s: a NoncurrentVersionTransition needs "
                    "a StorageClass", r->name);
    return 0;
}

static int parse_noncurrent_actions(lcxml_rule *r, const xmlread_node *n, pool *p,
                                    lcxml_err *err)
{
    if (count_children(n, "NoncurrentVersionExpiration") > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: an action appears twice", r->name);
    const xmlread_node *x = xmlread_child(n, "NoncurrentVersionExpiration");
    if (x && parse_noncurrent(r, x, false, &r->nc_expiration, err) < 0)
        return -1;
    size_t nt = count_children(n, "NoncurrentVersionTransition");
    if (nt && !(r->nc_transitions = pool_alloc(p, nt * sizeof *r->nc_transitions)))
        return fail(err, LCXML_NO_MEMORY, "out of memory");
    for (const xmlread_node *c = n->children; c; c = c->next) {
        if (!xmlread_is(c, "NoncurrentVersionTransition"))
            continue;
        lcxml_noncurrent *t = &r->nc_transitions[r->nnc_transitions];
        memset(t, 0, sizeof *t);
        if (parse_noncurrent(r, c, true, t, err) < 0)
            return -1;
        for (size_t i = 0; i < r->nnc_transitions; i++)
            if (strcmp(r->nc_transitions[i].storage_class, t->storage_class) == 0)
                return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'StorageClass' must be "
                            "different for 'NoncurrentVersionTransition' actions in same "
                            "'Rule'", r->name);
        if (x && t->when.days >= r->nc_expiration.when.days)
            return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'NoncurrentDays' in the "
                        "NoncurrentVersionExpiration action must be later than "
                        "'NoncurrentDays' in the NoncurrentVersionTransition action",
                        r->name);
        r->nnc_transitions++;
    }
    return 0;
}

static int parse_actions(lcxml_rule *r, const xmlread_node *n, pool *p, lcxml_err *err)
{
    if (count_children(n, "Expiration") > 1 ||
        count_children(n, "AbortIncompleteMultipartUpload") > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: an action appears twice", r->name);
    const xmlread_node *x = xmlread_child(n, "Expiration");
    if (x) {
        static const char *const kids[] = {"Days", "Date", "ExpiredObjectDeleteMarker",
                                           NULL};
        const char *other = unknown_child(x, kids);
        if (other)
            return fail(err, LCXML_MALFORMED, "Rule %s: Expiration may not hold %s",
                        r->name, other);
        const char *marker = xmlread_child_text(x, "ExpiredObjectDeleteMarker");
        if (count_children(x, "ExpiredObjectDeleteMarker") > 1)
            return fail(err, LCXML_MALFORMED, "Rule %s: ExpiredObjectDeleteMarker appears "
                        "twice", r->name);
        int rc = parse_when(r, x, "Expiration", false, &r->expiration, err);
        if (rc < 0)
            return -1;
        if ((rc > 0) == !marker)
            return fail(err, LCXML_MALFORMED, "Rule %s: Expiration takes one of Days, Date "
                        "and ExpiredObjectDeleteMarker", r->name);
        if (marker && strcmp(marker, "true") != 0 && strcmp(marker, "false") != 0)
            return fail(err, LCXML_MALFORMED, "Rule %s: ExpiredObjectDeleteMarker is true "
                        "or false", r->name);
        r->expire_marker = marker && strcmp(marker, "true") == 0;
        if (r->expire_marker && r->filter.ntags)
            return fail(err, LCXML_INVALID_REQUEST, "Rule %s: ExpiredObjectDeleteMarker "
                        "cannot be specified with Tags (a delete marker has none)", r->name);
    }
    if (parse_noncurrent_actions(r, n, p, err) < 0)
        return -1;
    if (parse_transitions(r, n, p, err) < 0)
        return -1;
    const xmlread_node *a = xmlread_child(n, "AbortIncompleteMultipartUpload");
    if (a) {
        uint64_t d;
        const char *days = xmlread_child_text(a, "DaysAfterInitiation");
        if (!days)
            return fail(err, LCXML_MALFORMED, "Rule %s: AbortIncompleteMultipartUpload "
                        "needs DaysAfterInitiation", r->name);
        if (parse_u64(days, 2147483647, &d) < 0 || d == 0)
            return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: 'DaysAfterInitiation' for "
                        "AbortIncompleteMultipartUpload action must be a positive integer",
                        r->name);
        r->abort_days = (int64_t)d;
        if (r->filter.ntags)
            return fail(err, LCXML_INVALID_REQUEST, "Rule %s: AbortIncompleteMultipartUpload "
                        "cannot be specified with Tags", r->name);
        if (r->filter.has_gt || r->filter.has_lt)
            return fail(err, LCXML_INVALID_REQUEST, "Rule %s: AbortIncompleteMultipartUpload "
                        "cannot be specified with an object size filter", r->name);
    }
    if (!x && !r->ntransitions && !a && !r->nc_expiration.when.set && !r->nnc_transitions)
        return fail(err, LCXML_INVALID_REQUEST, "Rule %s: At least one action needs to be "
                    "specified in a rule", r->name);
    for (size_t i = 0; r->expiration.set && i < r->ntransitions; i++) {
        const lcxml_when *t = &r->transitions[i].when;
        if (t->by_date != r->expiration.by_date)
            continue;
        if (t->by_date ? t->date_s >= r->expiration.date_s : t->days >= r->expiration.days)
            return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: '%s' in the Expiration action "
                        "must be later than '%s' in the Transition action", r->name,
                        t->by_date ? "Date" : "Days", t->by_date ? "Date" : "Days");
    }
    return 0;
}

static int parse_rule(lcxml_rule *r, size_t index, const xmlread_node *n, pool *p,
                      lcxml_err *err)
{
    static const char *const kids[] = {"ID", "Status", "Prefix", "Filter", "Expiration",
        "Transition", "AbortIncompleteMultipartUpload", "NoncurrentVersionExpiration",
        "NoncurrentVersionTransition", NULL};
    r->id = xmlread_child_text(n, "ID");
    if (r->id && strlen(r->id) > LCXML_MAX_ID) {
        snprintf(r->name, sizeof r->name, "#%zu", index + 1);
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: ID length should not exceed "
                    "allowed limit of %d", r->name, LCXML_MAX_ID);
    }
    if (r->id && *r->id)
        snprintf(r->name, sizeof r->name, "'%s'", r->id);
    else
        snprintf(r->name, sizeof r->name, "#%zu", index + 1);
    if (!r->id)
        r->id = "";
    const char *other = unknown_child(n, kids);
    if (other)
        return fail(err, LCXML_MALFORMED, "Rule %s: unknown element %s", r->name, other);
    if (count_children(n, "ID") > 1 || count_children(n, "Status") > 1 ||
        count_children(n, "Prefix") > 1 || count_children(n, "Filter") > 1)
        return fail(err, LCXML_MALFORMED, "Rule %s: an element appears twice", r->name);
    const char *status = xmlread_child_text(n, "Status");
    if (!status || (strcmp(status, "Enabled") != 0 && strcmp(status, "Disabled") != 0))
        return fail(err, LCXML_MALFORMED, "Rule %s: Status must be Enabled or Disabled",
                    r->name);
    r->enabled = strcmp(status, "Enabled") == 0;
    const char *prefix = xmlread_child_text(n, "Prefix");
    const xmlread_node *filter = xmlread_child(n, "Filter");
    if (prefix && filter)
        return fail(err, LCXML_MALFORMED, "Rule %s: Prefix and Filter cannot both be "
                    "given", r->name);
    if (!prefix && !filter)
        return fail(err, LCXML_MALFORMED, "Rule %s: a rule needs a Filter (or the older "
                    "Prefix)", r->name);
    r->filter.prefix = prefix ? prefix : "";
    if (filter && parse_predicates(r, filter, false, p, err) < 0)
        return -1;
    if (strlen(r->filter.prefix) > ST_MAX_KEY)
        return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: the prefix is longer than a key "
                    "can be", r->name);
    return parse_actions(r, n, p, err);
}

int lcxml_lifecycle_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                          lcxml_config *out, lcxml_err *err)
{
    cf_err cerr;
    memset(out, 0, sizeof *out);
    if (xmlread_parse(body, len, "LifecycleConfiguration", &lifecycle_limits, doc,
                      &cerr) < 0)
        return reader_failed(err, &cerr);
    const xmlread_node *root = xmlread_root(*doc);
    static const char *const kids[] = {"Rule", NULL};
    const char *other = unknown_child(root, kids);
    if (other)
        return fail(err, LCXML_MALFORMED, "LifecycleConfiguration may not hold %s", other);
    size_t n = count_children(root, "Rule");
    if (n == 0)
        return fail(err, LCXML_MALFORMED, "a lifecycle configuration needs at least one "
                    "Rule");
    if (n > LCXML_MAX_RULES)
        return fail(err, LCXML_INVALID_REQUEST, "a lifecycle configuration may have at most "
                    "%d rules, this one has %zu", LCXML_MAX_RULES, n);
    if (!(out->rules = pool_alloc(p, n * sizeof *out->rules)))
        return fail(err, LCXML_NO_MEMORY, "out of memory");
    for (const xmlread_node *c = root->children; c; c = c->next) {
        lcxml_rule *r = &out->rules[out->nrules];
        if (parse_rule(r, out->nrules, c, p, err) < 0)
            return -1;
        for (size_t i = 0; *r->id && i < out->nrules; i++)
            if (strcmp(out->rules[i].id, r->id) == 0)
                return fail(err, LCXML_INVALID_ARGUMENT, "Rule %s: Rule ID must be unique. "
                            "Found same ID for more than one rule", r->name);
        out->nrules++;
    }
    return 0;
}

/* ---- evaluation -------------------------------------------------------------- */

bool lcxml_match(const lcxml_filter *f, const char *key, uint64_t size,
                 const st_header *tags, size_t ntags)
{
    if (strncmp(key, f->prefix, strlen(f->prefix)) != 0)
        return false;
    if ((f->has_gt && size <= f->size_gt) || (f->has_lt && size >= f->size_lt))
        return false;
    for (size_t i = 0; i < f->ntags; i++) {
        bool found = false;
        for (size_t j = 0; j < ntags && !found; j++)
            found = strcmp(tags[j].name, f->tags[i].name) == 0 &&
                    strcmp(tags[j].value, f->tags[i].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

int64_t lcxml_noncurrent_due_ms(const lcxml_noncurrent *n, int64_t noncurrent_ms,
                                int64_t newer, int64_t day_ms)
{
    if (newer < n->keep)
        return INT64_MAX;
    return lcxml_due_ms(&n->when, noncurrent_ms, day_ms);
}

int64_t lcxml_due_ms(const lcxml_when *w, int64_t mtime_ms, int64_t day_ms)
{
    if (!w->set)
        return INT64_MAX;
    if (w->by_date)
        return w->date_s * 1000;
    if (w->days > (INT64_MAX - mtime_ms) / (day_ms > 0 ? day_ms : 1))
        return INT64_MAX;
    return mtime_ms + w->days * day_ms;
}

/* ---- tagging ------------------------------------------------------------------- */

static int tags_checked(st_header *tags, size_t n, lcxml_err *err)
{
    cf_err cerr;
    if (st_tags_check(tags, n, &cerr) < 0)
        return fail(err, LCXML_INVALID_TAG, "%s", cerr.msg);
    return 0;
}

int lcxml_tagging_parse(const char *body, size_t len, pool *p, xmlread_doc **doc,
                        st_header **tags, size_t *ntags, lcxml_err *err)
{
    cf_err cerr;
    *tags = NULL;
    *ntags = 0;
    if (xmlread_parse(body, len, "Tagging", &tagging_limits, doc, &cerr) < 0)
        return reader_failed(err, &cerr);
    const xmlread_node *root = xmlread_root(*doc);
    const xmlread_node *set = xmlread_child(root, "TagSet");
    static const char *const root_kids[] = {"TagSet", NULL};
    static const char *const set_kids[] = {"Tag", NULL};
    if (!set || count_children(root, "TagSet") > 1 || unknown_child(root, root_kids) ||
        unknown_child(set, set_kids))
        return fail(err, LCXML_MALFORMED, "a Tagging document holds one TagSet of Tags");
    size_t n = count_children(set, "Tag");
    if (n && !(*tags = pool_alloc(p, n * sizeof **tags)))
        return fail(err, LCXML_NO_MEMORY, "out of memory");
    for (const xmlread_node *c = set->children; c; c = c->next)
        if (parse_tag(NULL, c, &(*tags)[(*ntags)++], err) < 0)
            return fail(err, LCXML_MALFORMED, "a Tag needs one Key and one Value");
    return tags_checked(*tags, *ntags, err);
}

int lcxml_tagging_header(const char *value, pool *p, st_header **tags, size_t *ntags,
                         lcxml_err *err)
{
    *tags = NULL;
    *ntags = 0;
    size_t n = *value ? 1 : 0;
    for (const char *c = value; *c; c++)
        n += *c == '&';
    if (n > 50)
        return fail(err, LCXML_INVALID_TAG, "Object tags cannot be greater than %d",
                    ST_MAX_TAGS);
    if (n && !(*tags = pool_alloc(p, n * sizeof **tags)))
        return fail(err, LCXML_NO_MEMORY, "out of memory");
    const char *q = value;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len, vlen = eq ? len - klen - 1 : 0;
        char *k = pool_alloc(p, klen + 1), *v = pool_alloc(p, vlen + 1);
        if (!k || !v)
            return fail(err, LCXML_NO_MEMORY, "out of memory");
        if (auth_percent_decode(q, klen, true, k) < 0 ||
            (eq && auth_percent_decode(eq + 1, vlen, true, v) < 0))
            return fail(err, LCXML_INVALID_ARGUMENT, "The x-amz-tagging header is not "
                        "correctly URL-encoded");
        (*tags)[*ntags].name = k;
        (*tags)[*ntags].value = v;
        (*ntags)++;
        q += len;
        if (*q == '&')
            q++;
    }
    return tags_checked(*tags, *ntags, err);
}

/* ---- restore ---------------------------------------------------------------------- */

int lcxml_restore_parse(const char *body, size_t len, xmlread_doc **doc, int *days,
                        lcxml_err *err)
{
    cf_err cerr;
    if (xmlread_parse(body, len, "RestoreRequest", &restore_limits, doc, &cerr) < 0)
        return reader_failed(err, &cerr);
    const xmlread_node *root = xmlread_root(*doc);
    const char *type = xmlread_child_text(root, "Type");
    if (type || xmlread_child(root, "SelectParameters") || xmlread_child(root, "OutputLocation"))
        return fail(err, LCXML_NOT_IMPLEMENTED, "RestoreObject of type SELECT is not "
                    "implemented by coffer");
    const char *d = xmlread_child_text(root, "Days");
    uint64_t v;
    if (!d)
        return fail(err, LCXML_MALFORMED, "a RestoreRequest needs Days");
    if (parse_u64(d, 2147483647, &v) < 0 || v < 1)
        return fail(err, LCXML_INVALID_ARGUMENT, "Days must be a positive integer");
    *days = (int)v;
    return 0;
}
