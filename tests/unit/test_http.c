/* http/ pieces that need no socket: routing, CORS, bearer parsing, scopes, rate limits and the
 * declarative JSON specs (run against a request built by hand). */
#include "unit.h"

#include "http/internal.h"

static enum http_result nop(struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    return HTTP_REPLIED;
}

static const struct http_route routes[] = {
    {"GET", "/livez", nop, HTTP_PUBLIC, NULL},
    {"GET", "/api/jobs/{id}", nop, HTTP_API_KEY, NULL},
    {"DELETE", "/api/jobs/{id}", nop, HTTP_API_KEY, "admin"},
    {"POST", "/api/jobs/{id}/retry/{n}", nop, HTTP_API_KEY, NULL},
};

static void test_router(void **state)
{
    (void)state;
    struct http_request req = {0};
    bool path_matched;
    assert_int_equal(router_match(routes, 4, "GET", "/livez", &req, &path_matched), 0);
    assert_int_equal(router_match(routes, 4, "HEAD", "/livez", &req, &path_matched), 0);
    assert_int_equal(router_match(routes, 4, "GET", "/api/jobs/abc", &req, &path_matched), 1);
    assert_string_equal(http_req_param(&req, "id"), "abc");
    assert_null(http_req_param(&req, "nope"));
    router_free_params(&req);
    assert_int_equal(router_match(routes, 4, "POST", "/api/jobs/7/retry/3", &req, &path_matched),
                     3);
    assert_string_equal(http_req_param(&req, "id"), "7");
    assert_string_equal(http_req_param(&req, "n"), "3");
    router_free_params(&req);
    assert_int_equal(router_match(routes, 4, "PUT", "/api/jobs/x", &req, &path_matched), -1);
    assert_true(path_matched);
    assert_int_equal(router_match(routes, 4, "GET", "/api/jobs/", &req, &path_matched), -1);
    assert_false(path_matched);
    assert_int_equal(router_match(routes, 4, "GET", "/api/jobs/a/b", &req, &path_matched), -1);
    char allowed[64];
    router_allowed(routes, 4, "/api/jobs/x", allowed, sizeof(allowed));
    assert_string_equal(allowed, "GET, DELETE, HEAD, OPTIONS");
    /* A short buffer: nothing is written past `size` (", HEAD" used to leave the length stale,
     * so ", OPTIONS" went past the end). */
    char small[40];
    memset(small, 'Z', sizeof(small));
    router_allowed(routes, 4, "/api/jobs/x", small, 21);
    assert_true(strlen(small) < 21);
    for (size_t i = 21; i < sizeof(small); i++)
        assert_int_equal(small[i], 'Z');
    assert_string_equal(small, "GET, DELETE, HEAD");
}

static void test_cors_and_auth(void **state)
{
    (void)state;
    assert_true(cors_origin_allowed("https://a.example, https://b.example", "https://b.example"));
    assert_false(cors_origin_allowed("https://a.example", "https://a.example.evil"));
    assert_false(cors_origin_allowed("", "https://a.example"));
    assert_true(cors_origin_allowed("*", "https://x"));
    const char *token;
    assert_true(auth_bearer_token("Bearer abc", &token));
    assert_string_equal(token, "abc");
    assert_true(auth_bearer_token("bearer   abc", &token));
    assert_false(auth_bearer_token("Basic abc", &token));
    assert_false(auth_bearer_token("Bearer ", &token));
    assert_false(auth_bearer_token("Bearer a b", &token));
    assert_false(auth_bearer_token(NULL, &token));
    assert_true(auth_scope_ok("events:read,events:write", "events:write"));
    assert_false(auth_scope_ok("events:read", "events:write"));
    assert_false(auth_scope_ok("events:readx", "events:read"));
    assert_true(auth_scope_ok("admin", "sync:run"));
    assert_true(auth_scope_ok("events:read", NULL));
}

static void test_rate_limit_bucket(void **state)
{
    (void)state;
    struct ratelimit *rl;
    assert_int_equal(ratelimit_new(&rl), 0);
    struct cfg_rate rate = {100, 60};
    struct ratelimit_verdict v;
    int64_t t = 1000000;
    for (int i = 0; i < 100; i++) {
        ratelimit_take(rl, "key:a", &rate, t, &v);
        assert_true(v.allowed);
    }
    assert_int_equal(v.remaining, 0);
    ratelimit_take(rl, "key:a", &rate, t, &v);
    assert_false(v.allowed);
    assert_int_equal(v.retry_after_sec, 1); /* one token every 0.6 s */
    assert_int_equal(v.limit, 100);
    ratelimit_take(rl, "key:b", &rate, t, &v); /* separate bucket */
    assert_true(v.allowed);
    ratelimit_take(rl, "key:a", &rate, t + 600, &v); /* refilled one token */
    assert_true(v.allowed);
    ratelimit_take(rl, "key:a", &rate, t + 600, &v);
    assert_false(v.allowed);
    ratelimit_take(rl, "key:a", &rate, t + 120000, &v); /* full again, never above capacity */
    assert_true(v.allowed);
    assert_int_equal(v.remaining, 99);
    /* Peeking takes nothing; an unknown caller has a full bucket. */
    assert_true(ratelimit_peek(rl, "key:a", &rate, t + 120000));
    assert_true(ratelimit_peek(rl, "key:nobody", &rate, t));
    struct cfg_rate one = {1, 60};
    ratelimit_take(rl, "ip:x", &one, t, &v);
    assert_false(ratelimit_peek(rl, "ip:x", &one, t));
    ratelimit_take(rl, "ip:x", &one, t, &v);
    assert_false(v.allowed);
    /* Many distinct callers stay bounded: full shards drop the buckets that have refilled. */
    char who[32];
    for (int i = 0; i < 200000; i++) {
        snprintf(who, sizeof(who), "ip:%d", i);
        ratelimit_take(rl, who, &rate, t + 200000 + i, &v);
        assert_true(v.allowed);
    }
    assert_true(ratelimit_count(rl) <= 16 * 8192);
    assert_true(ratelimit_count(rl) > 1000);
    ratelimit_free(rl);
}

static struct http_request *fake_request(const char *body)
{
    struct http_request *req = calloc(1, sizeof(*req));
    buf_init(&req->body, 1 << 20);
    buf_append_str(&req->body, body);
    return req;
}

static void free_fake(struct http_request *req)
{
    reply_free(req);
    buf_free(&req->body);
    free(req);
}

static void test_parse_spec(void **state)
{
    (void)state;
    const char *name = NULL;
    long long count = 0;
    bool flag = false;
    json_t *list = NULL;
    const struct http_field spec[] = {
        {"name", HF_STRING, true, 1, 5, &name},
        {"count", HF_INT, false, 1, 10, &count},
        {"flag", HF_BOOL, false, 0, 0, &flag},
        {"list", HF_STRINGS, false, 1, 3, &list},
    };
    struct {
        const char *json;
        int rc;
        const char *field;
    } cases[] = {
        {"{\"name\":\"abc\",\"count\":3,\"flag\":true,\"list\":[\"a\"]}", 0, NULL},
        {"{\"name\":\"abc\",\"list\":\"one\"}", 0, NULL},
        {"{}", HERALD_ERR_INVALID, "\"field\":\"name\""},
        {"{\"name\":\"toolong\"}", HERALD_ERR_INVALID, "\"field\":\"name\""},
        {"{\"name\":7}", HERALD_ERR_INVALID, "must be a string"},
        {"{\"name\":\"a\",\"count\":11}", HERALD_ERR_INVALID, "\"field\":\"count\""},
        {"{\"name\":\"a\",\"count\":1.5}", HERALD_ERR_INVALID, "must be an integer"},
        {"{\"name\":\"a\",\"flag\":\"yes\"}", HERALD_ERR_INVALID, "\"field\":\"flag\""},
        {"{\"name\":\"a\",\"list\":[1]}", HERALD_ERR_INVALID, "\"field\":\"list\""},
        {"{\"name\":\"a\",\"list\":[\"a\",\"b\",\"c\",\"d\"]}", HERALD_ERR_INVALID, "items"},
        {"{\"name\":\"a\\u0000b\"}", HERALD_ERR_INVALID, "NUL"},
        {"[]", HERALD_ERR_INVALID, "JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_request *req = fake_request(cases[i].json);
        json_t *doc = json_loads(cases[i].json, JSON_ALLOW_NUL, NULL);
        assert_non_null(doc);
        int rc = http_parse_object(req, doc, spec, 4, "");
        assert_int_equal(rc, cases[i].rc);
        if (rc) {
            assert_int_equal(req->status, 400);
            assert_non_null(strstr(req->reply_body, cases[i].field));
            assert_non_null(strstr(req->reply_body, "\"success\":false"));
        } else {
            assert_string_equal(name, "abc");
        }
        json_decref(doc);
        free_fake(req);
    }
    struct http_request *req = fake_request("{}");
    json_t *doc = json_object();
    assert_int_equal(http_parse_object(req, doc, spec, 4, "events[2]"), HERALD_ERR_INVALID);
    assert_non_null(strstr(req->reply_body, "\"field\":\"events[2].name\""));
    json_decref(doc);
    free_fake(req);
}

/* The same checks without a request: the details land in one struct, exactly as replied. */
static void test_check_object_detail(void **state)
{
    (void)state;
    long long count = 0;
    const struct http_field spec[] = {{"count", HF_INT, true, 1, 10, &count}};
    struct herald_error err;
    json_t *doc = json_loads("{\"count\":11}", 0, NULL);
    assert_int_equal(http_check_object(doc, spec, 1, "items[1]", &err), HERALD_ERR_INVALID);
    assert_int_equal(err.code, HERALD_ERR_INVALID);
    assert_string_equal(err.field, "items[1].count");
    assert_string_equal(err.message, "items[1].count must be from 1 to 10");
    json_decref(doc);
    doc = json_loads("[1]", 0, NULL);
    assert_int_equal(http_check_object(doc, spec, 1, "", &err), HERALD_ERR_INVALID);
    assert_string_equal(err.field, "");
    assert_string_equal(err.message, "body must be a JSON object");
    json_decref(doc);
    doc = json_loads("{\"count\":4}", 0, NULL);
    assert_int_equal(http_check_object(doc, spec, 1, "", NULL), HERALD_OK);
    assert_int_equal(count, 4);
    json_decref(doc);

    struct http_request *req = fake_request("");
    herald_error_set(&err, HERALD_ERR_NOT_FOUND, NULL, NULL);
    http_reply_err(req, &err);
    assert_int_equal(req->status, 404);
    assert_string_equal(req->reply_body, "{\"success\":false,\"error\":{\"code\":\"not_found\","
                                         "\"message\":\"not found\"}}");
    free_fake(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router),
        cmocka_unit_test(test_cors_and_auth),
        cmocka_unit_test(test_rate_limit_bucket),
        cmocka_unit_test(test_parse_spec),
        cmocka_unit_test(test_check_object_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
