/* The event writer against a real SQLite store: many concurrent submitters, duplicates within
 * and across batches, the recent-key cache, and a stop that flushes the queue. */
#include "unit.h"

#include <pthread.h>

#include "events/ingest.h"
#include "events/query.h"
#include "store/store.h"

#define THREADS 8
#define PER_THREAD 500

struct worker {
    struct ingest *ing;
    int id;
    int created;
};

static void fill(struct ingest_item *it, char *key, size_t key_size, int n)
{
    snprintf(key, key_size, "herald_c_sent_%016d", n);
    memset(it, 0, sizeof(*it));
    it->ev.event_key = key;
    it->ev.platform = "herald";
    it->ev.campaign_id = "c";
    it->ev.event_type = "sent";
    it->ev.email = "a@example.com";
    it->ev.created_at_ms = 1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Every thread writes the same 500 keys: each must be created exactly once overall. */
    for (int i = 0; i < PER_THREAD; i += 50) {
        struct ingest_item items[50];
        char keys[50][40];
        for (int k = 0; k < 50; k++)
            fill(&items[k], keys[k], sizeof(keys[k]), i + k);
        assert_int_equal(ingest_write(w->ing, items, 50), 0);
        for (int k = 0; k < 50; k++)
            w->created += items[k].created;
    }
    return NULL;
}

static struct store *open_store(void)
{
    char dir[256], url[300];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(url, sizeof(url), "sqlite:%s/ingest.db", dir);
    struct store_opts opts = {url, 1, 4, false};
    struct store *st;
    assert_int_equal(store_open(&opts, &st), 0);
    int n;
    assert_int_equal(store_migrate_up(st, &n), 0);
    return st;
}

static void run_concurrent(int cache_keys)
{
    struct store *st = open_store();
    struct ingest *ing;
    struct ingest_opts opts = {64, 1, cache_keys, 0};
    assert_int_equal(ingest_start(st, &opts, &ing), 0);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ing, i, 0};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    int created = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        created += w[i].created;
    }
    assert_int_equal(created, PER_THREAD);
    struct ingest_stats s;
    ingest_get_stats(ing, &s);
    assert_int_equal(s.stored, PER_THREAD);
    assert_int_equal(s.duplicates, PER_THREAD * (THREADS - 1));
    assert_int_equal(s.failures, 0);
    assert_true(s.batches < (uint64_t)(PER_THREAD * THREADS)); /* rows were grouped */
    if (cache_keys)
        assert_true(s.cache_hits > 0);
    else
        assert_int_equal(s.cache_hits, 0);
    ingest_stop(ing);
    store_close(st);
}

static void test_concurrent_with_cache(void **state)
{
    (void)state;
    run_concurrent(1000);
}

static void test_concurrent_without_cache(void **state)
{
    (void)state;
    run_concurrent(0);
}

static void test_tiny_cache_evicts(void **state)
{
    (void)state;
    run_concurrent(10);
}

static int done_count;
static void count_done(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&done_count, 1, __ATOMIC_SEQ_CST);
}

static void test_stop_flushes_queue(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct ingest *ing;
    struct ingest_opts opts = {8, 50, 100, 0};
    assert_int_equal(ingest_start(st, &opts, &ing), 0);
    static struct ingest_item items[100];
    static char keys[100][40];
    static struct ingest_ticket tickets[100];
    for (int i = 0; i < 100; i++) {
        fill(&items[i], keys[i], sizeof(keys[i]), 10000 + i);
        assert_int_equal(ingest_submit(ing, &items[i], 1, &tickets[i], count_done, NULL), 0);
    }
    ingest_stop(ing); /* must commit all 100 before returning */
    assert_int_equal(done_count, 100);
    for (int i = 0; i < 100; i++) {
        assert_true(items[i].created);
        assert_int_equal(tickets[i].rc, 0);
    }
    store_close(st);
}

static void test_known_keys(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct ingest *ing;
    struct ingest_opts opts = {8, 0, 100, 0};
    assert_int_equal(ingest_start(st, &opts, &ing), 0);
    struct ingest_item it;
    char key[40];
    fill(&it, key, sizeof(key), 42);
    assert_false(ingest_known(ing, key));
    assert_int_equal(ingest_write(ing, &it, 1), 0);
    assert_true(it.created);
    assert_true(ingest_known(ing, key)); /* only once durable */
    /* A lookup answers the stored key and leaves the new one to the writer. */
    struct ingest_item items[3];
    char keys[3][40];
    fill(&items[0], keys[0], sizeof(keys[0]), 42);
    fill(&items[1], keys[1], sizeof(keys[1]), 43);
    snprintf(keys[2], sizeof(keys[2]), "not-a-computed-key"); /* hashed another way */
    items[2] = items[1];
    items[2].ev.event_key = keys[2];
    assert_int_equal(ingest_lookup(ing, items, 3), 1);
    assert_true(items[0].answered && !items[0].created);
    assert_false(items[1].answered || items[2].answered);
    assert_int_equal(ingest_write(ing, items, 3), 0); /* looks up again: same answer */
    assert_true(!items[0].created && items[1].created && items[2].created);
    assert_true(ingest_known(ing, keys[1]) && ingest_known(ing, keys[2]));
    struct ingest_stats s;
    ingest_get_stats(ing, &s);
    assert_int_equal(s.stored, 3);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.cache_hits, 2);
    ingest_stop(ing);
    store_close(st);
}

static int answered_count;
static void note_done(void *arg)
{
    (void)arg;
    answered_count++;
}

/* A submission with nothing left to write completes at once, on the caller's thread. */
static void test_submit_all_answered(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct ingest *ing;
    struct ingest_opts opts = {8, 0, 100, 0};
    assert_int_equal(ingest_start(st, &opts, &ing), 0);
    struct ingest_item it;
    char key[40];
    fill(&it, key, sizeof(key), 7);
    assert_int_equal(ingest_write(ing, &it, 1), 0);
    fill(&it, key, sizeof(key), 7);
    assert_int_equal(ingest_lookup(ing, &it, 1), 1);
    struct ingest_ticket ticket;
    assert_int_equal(ingest_submit(ing, &it, 1, &ticket, note_done, NULL), 0);
    assert_int_equal(answered_count, 1);
    assert_int_equal(ticket.rc, 0);
    assert_false(it.created);
    ingest_stop(ing);
    store_close(st);
}

/* events_list(): the domain read behind GET /api/events (namespace lists match by membership,
 * the limit is the domain's to check, pages are freed by events_page_free). */
static void test_events_list(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct ingest *ing;
    struct ingest_opts opts = {8, 0, 100, 0};
    assert_int_equal(ingest_start(st, &opts, &ing), 0);
    struct ingest_item items[3];
    char keys[3][40];
    const char *ns[] = {"a_b,c", "c", NULL};
    for (int i = 0; i < 3; i++) {
        fill(&items[i], keys[i], sizeof(keys[i]), i);
        items[i].ev.namespace_ = (char *)ns[i];
    }
    assert_int_equal(ingest_write(ing, items, 3), 0);
    struct events_page page;
    struct events_filter f = {.namespace_ = "c", .limit = 10};
    assert_int_equal(events_list(st, &f, &page), 0);
    assert_int_equal(page.count, 2);
    events_page_free(&page);
    f.namespace_ = "axb"; /* '_' is no wildcard */
    assert_int_equal(events_list(st, &f, &page), 0);
    assert_int_equal(page.count, 0);
    events_page_free(&page);
    f = (struct events_filter){.limit = 2};
    assert_int_equal(events_list(st, &f, &page), 0);
    assert_int_equal(page.count, 2);
    assert_true(page.rows[0].id > page.rows[1].id);
    events_page_free(&page);
    f.limit = 0;
    assert_int_equal(events_list(st, &f, &page), HERALD_ERR_INVALID);
    assert_null(page.rows);
    ingest_stop(ing);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_with_cache),
        cmocka_unit_test(test_concurrent_without_cache),
        cmocka_unit_test(test_tiny_cache_evicts),
        cmocka_unit_test(test_stop_flushes_queue),
        cmocka_unit_test(test_known_keys),
        cmocka_unit_test(test_submit_all_answered),
        cmocka_unit_test(test_events_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
