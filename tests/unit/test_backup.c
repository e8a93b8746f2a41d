/* backup/: names and their times, the key created on first use, the private directory,
 * retention of named backups, S3 references; crypto's key file and file hash. */
#include "unit.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "backup/backup.h"
#include "backup/s3.h"
#include "base/crypto.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    char name[64];
    int64_t ms = 1795000000123LL, back = 0;
    backup_name(ms, name);
    assert_int_equal(strlen(name), 27);
    assert_true(backup_name_time(name, &back));
    assert_int_equal(back, ms / 1000 * 1000);
    const char *bad[] = {"herald-20261126T111500Z.hbk.partial",
                         "herald-2026112T111500Z.hbk",
                         "other-20261126T111500Z.hbk",
                         "herald-20261126T111500Z.bak",
                         "",
                         "herald-2026xx26T111500Z.hbk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(backup_name_time(bad[i], &back));
}

static void test_key_created_once_0600(void **state)
{
    (void)state;
    char dir[256], path[320];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/sub/backup.key", dir);
    uint8_t k1[CRYPTO_AES_KEY_LEN], k2[CRYPTO_AES_KEY_LEN];
    bool created = false;
    struct herald_error err = {0};
    assert_int_equal(backup_key_load(path, false, k1, &created, &err), HERALD_ERR_NOT_FOUND);
    assert_int_equal(backup_key_load(path, true, k1, &created, &err), HERALD_OK);
    assert_true(created);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(backup_key_load(path, true, k2, &created, &err), HERALD_OK);
    assert_false(created);
    assert_memory_equal(k1, k2, sizeof(k1));
    assert_int_equal(crypto_create_key_file(path), HERALD_ERR_DUPLICATE);
}

static void test_private_dir_is_0700_and_removed(void **state)
{
    (void)state;
    char dir[256];
    unit_tmpdir(dir, sizeof(dir));
    struct backup_tmp t;
    assert_int_equal(backup_tmp_open(dir, &t), HERALD_OK);
    struct stat sb;
    assert_int_equal(stat(t.dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    FILE *f = fopen(t.plain, "w");
    assert_non_null(f);
    fputs("plaintext", f);
    fclose(f);
    backup_tmp_close(&t);
    assert_int_equal(access(t.plain, F_OK), -1);
    DIR *d = opendir(dir);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(d)))
        left += e->d_name[0] != '.' || strncmp(e->d_name, ".herald-tmp-", 12) == 0;
    closedir(d);
    assert_int_equal(left, 0);
}

static void make_old_dir(const char *dir, const char *name, long age_s)
{
    char p[512], f[600];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(f, sizeof(f), "%s/db", p);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    struct utimbuf t = {time(NULL) - age_s, time(NULL) - age_s};
    assert_int_equal(utime(p, &t), 0);
}

static void test_sweep_spares_running_backups(void **state)
{
    (void)state;
    char dir[256], name[64], p[512];
    unit_tmpdir(dir, sizeof(dir));
    make_old_dir(dir, ".herald-tmp-999999999-dead01", 3600); /* gone, an hour old */
    snprintf(name, sizeof(name), ".herald-tmp-%ld-live01", (long)getpid());
    make_old_dir(dir, name, 3600);                        /* ours: running */
    make_old_dir(dir, ".herald-tmp-999999998-new001", 5); /* gone, but just now */
    make_old_dir(dir, ".herald-tmp-1-day0001", 90000);    /* pid 1 runs; a day old */
    backup_tmp_sweep(dir);
    snprintf(p, sizeof(p), "%s/.herald-tmp-999999999-dead01", dir);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/.herald-tmp-999999998-new001", dir);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/.herald-tmp-1-day0001", dir);
    assert_int_equal(access(p, F_OK), -1);
}

static void touch(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
}

static void test_prune_by_name_time(void **state)
{
    (void)state;
    char dir[256], old[64], recent[64];
    unit_tmpdir(dir, sizeof(dir));
    int64_t now = 1795000000000LL;
    backup_name(now - 31LL * 86400 * 1000, old);
    backup_name(now - 29LL * 86400 * 1000, recent);
    touch(dir, old);
    touch(dir, recent);
    touch(dir, "notes.txt");
    struct backup_opts o = {.dir = dir, .keep_days = 30, .s3 = {.url = ""}};
    int local = -1, remote = -1;
    assert_int_equal(backup_prune(&o, now, &local, &remote, NULL), HERALD_OK);
    assert_int_equal(local, 1);
    assert_int_equal(remote, 0);
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, old);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/%s", dir, recent);
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(backup_last_success_ms(dir), now - 29LL * 86400 * 1000);
    o.keep_days = 0; /* keeps everything */
    assert_int_equal(backup_prune(&o, now + 400LL * 86400 * 1000, &local, &remote, NULL), 0);
    assert_int_equal(local, 0);
}

static void test_s3_urls_and_refs(void **state)
{
    (void)state;
    char dir[256], ak[320], sk[320];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(ak, sizeof(ak), "%s/ak", dir);
    snprintf(sk, sizeof(sk), "%s/sk", dir);
    FILE *f = fopen(ak, "w");
    fputs("AKID\n", f);
    fclose(f);
    f = fopen(sk, "w");
    fputs("zz-secret-value\n", f);
    fclose(f);
    struct s3_opts o = {"https://s3.example.com/bucket/a/b/", "us-east-1", ak, sk, 1000};
    struct s3_client *c = NULL;
    struct herald_error err = {0};
    assert_int_equal(s3_client_new(&o, &c, &err), HERALD_OK);
    char name[256];
    assert_int_equal(s3_ref_name(c, "s3://bucket/a/b/herald-x.hbk", name, &err), HERALD_OK);
    assert_string_equal(name, "herald-x.hbk");
    assert_int_equal(s3_ref_name(c, "s3://bucket/a/herald-x.hbk", name, &err), HERALD_ERR_INVALID);
    assert_int_equal(s3_ref_name(c, "s3://other/a/b/x", name, &err), HERALD_ERR_INVALID);
    s3_client_free(c);
    const char *bad[] = {"ftp://h/b", "https://host", "https://host/", "s3.example.com/bucket"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.url = bad[i];
        assert_int_equal(s3_client_new(&o, &c, &err), HERALD_ERR_CONFIG);
    }
    o.url = "https://h/b";
    o.secret_key_file = "/nonexistent/sk";
    assert_int_equal(s3_client_new(&o, &c, &err), HERALD_ERR_CONFIG);
    assert_null(strstr(herald_error_message(&err), "zz-secret-value"));
}

static void test_sha256_file(void **state)
{
    (void)state;
    char dir[256], p[320], hex[2 * CRYPTO_SHA256_LEN + 1];
    unit_tmpdir(dir, sizeof(dir));
    snprintf(p, sizeof(p), "%s/f", dir);
    FILE *f = fopen(p, "w");
    fputs("abc", f);
    fclose(f);
    assert_int_equal(crypto_sha256_file(p, hex), HERALD_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(crypto_sha256_file("/nonexistent", hex), HERALD_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_names_round_trip),
                                       cmocka_unit_test(test_key_created_once_0600),
                                       cmocka_unit_test(test_private_dir_is_0700_and_removed),
                                       cmocka_unit_test(test_prune_by_name_time),
                                       cmocka_unit_test(test_s3_urls_and_refs),
                                       cmocka_unit_test(test_sha256_file),
                                       cmocka_unit_test(test_sweep_spares_running_backups)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
