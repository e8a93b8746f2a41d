/* What this machine allows before any Herald code runs: the cost of the two steps that the
 * event-key and OTA-push benchmarks cannot avoid, measured with the libraries alone.
 *   sqlite  durable inserts into a bare table (rowid + one UNIQUE text key shaped like an event
 *           key: a shared prefix and 16 random hex digits), WAL, synchronous=FULL, one
 *           transaction per BATCH rows (64: the benchmarks' connection count bounds a group
 *           commit); then the same with a random 64-bit integer key
 *   xml     parsing one message with libxml2: into a tree with Herald's options, and with a
 *           SAX parser whose callbacks do nothing (the floor of any libxml2-based parser)
 * usage: floors DIRECTORY XML_FILE [ROWS] [BATCH]
 *   -> lines "name rate/s cpu_us" (CPU per row or per parse, this thread only) */
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* xorshift64*: reproducible keys without libc's rand() state. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int sqlite_floor(const char *dir, long rows, int batch, int integer_key)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/floor-%d.db", dir, integer_key);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        remove(p);
    }
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    const char *schema = integer_key
                             ? "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL UNIQUE)"
                             : "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE)";
    sqlite3_stmt *ins = NULL;
    if (check(
            db,
            sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL),
            "pragmas") ||
        check(db, sqlite3_exec(db, schema, NULL, NULL, NULL), "schema") ||
        check(db, sqlite3_prepare_v2(db, "INSERT INTO t (k) VALUES (?)", -1, &ins, NULL),
              "prepare")) {
        sqlite3_close(db);
        return -1;
    }
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
    int rc = 0;
    for (long i = 0; i < rows && !rc;) {
        rc = check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
        for (int j = 0; j < batch && i < rows && !rc; j++, i++) {
            uint64_t r = next_random(&seed);
            if (integer_key) {
                sqlite3_bind_int64(ins, 1, (sqlite3_int64)r);
            } else {
                char key[64];
                int n = snprintf(key, sizeof(key), "lemlist_floorcampaign_emailsopened_%016llx",
                                 (unsigned long long)r);
                sqlite3_bind_text(ins, 1, key, n, SQLITE_TRANSIENT);
            }
            rc = check(db, sqlite3_step(ins), "insert");
            sqlite3_reset(ins);
        }
        if (!rc)
            rc = check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    }
    double dt = seconds(CLOCK_MONOTONIC) - t0, dc = seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    if (rc)
        return -1;
    printf("sqlite_%s_key_batch%d %.0f %.1f\n", integer_key ? "int64" : "text", batch,
           (double)rows / dt, dc * 1e6 / (double)rows);
    return 0;
}

static void count_element(void *ctx, const xmlChar *local, const xmlChar *prefix,
                          const xmlChar *uri, int nb_ns, const xmlChar **ns, int nb_attrs,
                          int nb_defaulted, const xmlChar **attrs)
{
    (void)local, (void)prefix, (void)uri, (void)nb_ns, (void)ns, (void)nb_attrs;
    (void)nb_defaulted, (void)attrs;
    ++*(long *)ctx;
}

static int xml_floor(const char *file, int iterations)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return -1;
    static char msg[1 << 20];
    size_t len = fread(msg, 1, sizeof(msg), f);
    fclose(f);
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
               XML_PARSE_COMPACT;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    double c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < iterations; i++) {
        xmlDocPtr doc = xmlCtxtReadMemory(ctxt, msg, (int)len, NULL, NULL, opts);
        if (!doc) {
            xmlFreeParserCtxt(ctxt);
            return -1;
        }
        xmlFreeDoc(doc);
    }
    double dom = (seconds(CLOCK_THREAD_CPUTIME_ID) - c0) / iterations;
    xmlFreeParserCtxt(ctxt);

    xmlSAXHandler sax = {.initialized = XML_SAX2_MAGIC, .startElementNs = count_element};
    long elements = 0;
    c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < iterations; i++) {
        xmlParserCtxtPtr push = xmlCreatePushParserCtxt(&sax, &elements, NULL, 0, NULL);
        if (!push)
            return -1;
        xmlCtxtUseOptions(push, opts);
        int failed = xmlParseChunk(push, msg, (int)len, 1) != 0 || !push->wellFormed;
        xmlFreeParserCtxt(push);
        if (failed) {
            fprintf(stderr, "%s: not well-formed XML\n", file);
            return -1;
        }
    }
    double saxed = (seconds(CLOCK_THREAD_CPUTIME_ID) - c0) / iterations;
    printf("xml_tree_%zu_bytes %.0f %.1f\n", len, 1 / dom, dom * 1e6);
    printf("xml_sax_%zu_bytes_%ld_elements %.0f %.1f\n", len, elements / iterations, 1 / saxed,
           saxed * 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: floors DIRECTORY XML_FILE [ROWS] [BATCH]\n");
        return 2;
    }
    long rows = argc > 3 ? atol(argv[3]) : 300000;
    int batch = argc > 4 ? atoi(argv[4]) : 64;
    if (rows < 1 || batch < 1)
        return 2;
    if (sqlite_floor(argv[1], rows, batch, 0) || sqlite_floor(argv[1], rows, batch, 1) ||
        xml_floor(argv[2], 20000))
        return 1;
    return 0;
}
