/*
 * tests/unit/test_fio.c - the fault-injection hook (common/fio.h): rules
 * fail exactly the N-th operation of their class (write, fsync, walsync,
 * rename, unlink; once or from then on, with the errno and on the paths
 * they name), counters count (unlinks are not "any"), malformed
 * rules are refused, and a simulated power cut (in a child process) undoes
 * exactly what was not made durable: unsynced appends and overwrites,
 * creations and renames whose directory was not fsynced, while synced data
 * and fsynced directory entries stay. Without the hook in the build the
 * calls are plain system calls and rules are refused with ENOSYS.
 */
#include "common/fio.h"
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int write_file(const char *path, const char *text, bool sync)
{
    int fd = fio_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    int rc = fio_write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
    if (rc == 0 && sync)
        rc = fio_fsync(fd);
    fio_close(fd);
    return rc;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void without_the_hook_rules_are_refused(void)
{
    if (fio_faults_built())
        return;
    CHECK_EQ_INT(fio_fault_set("write@1"), -1);
    CHECK_EQ_INT(errno, ENOSYS);
    CHECK_EQ_INT(fio_fault_set(""), 0);
    char p[600];
    path_in(p, sizeof p, test_tmpdir(), "plain");
    CHECK_EQ_INT(write_file(p, "abc", true), 0);
    CHECK_EQ_INT(file_size(p), 3);
}

static void malformed_rules_are_refused(void)
{
    if (!fio_faults_built())
        return;
    static const char *const bad[] = {"write", "write@0", "write@x", "bogus@1",
                                      "write@1=EPERM", "powercut@1+", "write@1:",
                                      "write@1,,fsync", "a@1,b@2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        CHECK_EQ_INT(fio_fault_set(bad[i]), -1);
        CHECK_EQ_INT(errno, EINVAL);
    }
    CHECK_EQ_INT(fio_fault_set("write@3,fsync@1+=ENOSPC:disk2/,rename@2=EROFS"), 0);
    CHECK_EQ_INT(fio_fault_set(NULL), 0);
}

static void the_nth_operation_fails_once_or_from_then_on(void)
{
    if (!fio_faults_built())
        return;
    const char *dir = test_tmpdir();
    char p[600];
    path_in(p, sizeof p, dir, "f");
    REQUIRE(fio_fault_set("write@3") == 0);
    int fd = fio_open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    CHECK_EQ_INT(fio_write(fd, "a", 1), 1);
    CHECK_EQ_INT(fio_pwrite(fd, "b", 1, 1), 1);
    CHECK(!fio_fault_fired());
    errno = 0;
    CHECK_EQ_INT(fio_write(fd, "c", 1), -1);     /* the third */
    CHECK_EQ_INT(errno, EIO);
    CHECK(fio_fault_fired());
    CHECK_EQ_INT(fio_write(fd, "d", 1), 1);      /* once only */
    CHECK_EQ_INT(fio_count(FIO_WRITE), 4);
    CHECK_EQ_INT(fio_count(FIO_FSYNC), 0);

    REQUIRE(fio_fault_set("fsync@2+=ENOSPC") == 0);
    CHECK_EQ_INT(fio_count(FIO_WRITE), 0);       /* counters reset */
    CHECK_EQ_INT(fio_fsync(fd), 0);
    CHECK_EQ_INT(fio_fdatasync(fd), -1);
    CHECK_EQ_INT(errno, ENOSPC);
    CHECK_EQ_INT(fio_fsync(fd), -1);             /* sticky */
    CHECK_EQ_INT(fio_walsync(fd), 0);            /* another class */
    CHECK_EQ_INT(fio_count(FIO_WALSYNC), 1);

    REQUIRE(fio_fault_set("walsync@1") == 0);
    CHECK_EQ_INT(fio_walsync(fd), -1);
    CHECK_EQ_INT(fio_fsync(fd), 0);
    fio_close(fd);

    char q[600];
    path_in(q, sizeof q, dir, "g");
    REQUIRE(fio_fault_set("rename@1=EROFS") == 0);
    CHECK_EQ_INT(fio_rename(p, q), -1);
    CHECK_EQ_INT(errno, EROFS);
    CHECK(access(p, F_OK) == 0);
    CHECK_EQ_INT(fio_rename(p, q), 0);
    CHECK(access(q, F_OK) == 0);

    REQUIRE(fio_fault_set("unlink@2=EROFS") == 0);
    CHECK_EQ_INT(fio_unlink(p), -1);             /* op 1: p is gone (ENOENT) */
    CHECK_EQ_INT(errno, ENOENT);
    CHECK_EQ_INT(fio_unlink(q), -1);             /* op 2 fails, q stays */
    CHECK_EQ_INT(errno, EROFS);
    CHECK(access(q, F_OK) == 0);
    CHECK_EQ_INT(fio_count(FIO_UNLINK), 2);

    REQUIRE(fio_fault_set("any@2") == 0);
    CHECK_EQ_INT(fio_unlink(q), 0);              /* unlinks are not "any" */
    CHECK_EQ_INT(write_file(p, "x", false), 0);  /* write is op 1 */
    CHECK_EQ_INT(fio_rename(p, q), -1);          /* op 2, any class */
    fio_fault_set(NULL);
}

static void a_path_part_narrows_a_rule_to_one_disk(void)
{
    if (!fio_faults_built())
        return;
    const char *dir = test_tmpdir();
    char d1[600], d2[600], a[700], b[700];
    path_in(d1, sizeof d1, dir, "disk1");
    path_in(d2, sizeof d2, dir, "disk2");
    REQUIRE(mkdir(d1, 0700) == 0 && mkdir(d2, 0700) == 0);
    snprintf(a, sizeof a, "%s/x", d1);
    snprintf(b, sizeof b, "%s/x", d2);
    REQUIRE(fio_fault_set("write@1+:disk2/") == 0);
    CHECK_EQ_INT(write_file(a, "one", false), 0);
    CHECK_EQ_INT(write_file(b, "two", false), -1);
    CHECK_EQ_INT(write_file(a, "three", false), 0);
    CHECK_EQ_INT(write_file(b, "four", false), -1);
    CHECK_EQ_INT(fio_count(FIO_WRITE), 4);
    fio_fault_set(NULL);
}

/* In a child: synced.txt durable (file and directory); appended.txt
 * synced, then appended to and partly overwritten; moving.txt durable,
 * then renamed to moved.txt; replacing.txt (synced, its directory entry
 * not) renamed over the durable replaced.txt; unsynced.txt written and
 * never synced; then the cut, before any directory fsync. */
static void power_cut_child(const char *dir)
{
    char p[700], q[700];
    if (fio_fault_set("powercut@100000") < 0)
        _exit(10);
    int dfd = fio_open(dir, O_RDONLY | O_DIRECTORY, 0);
    path_in(p, sizeof p, dir, "synced.txt");
    if (dfd < 0 || write_file(p, "durable", true) < 0 || fio_fsync(dfd) < 0)
        _exit(11);
    path_in(p, sizeof p, dir, "appended.txt");
    int fd = fio_open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || fio_write(fd, "12345", 5) != 5 || fio_fdatasync(fd) < 0 ||
        fio_fsync(dfd) < 0 || fio_write(fd, "6789", 4) != 4 ||
        fio_pwrite(fd, "XY", 2, 1) != 2)
        _exit(12);
    path_in(p, sizeof p, dir, "replaced.txt");
    path_in(q, sizeof q, dir, "moving.txt");
    if (write_file(p, "old", true) < 0 || write_file(q, "moved", true) < 0 ||
        fio_fsync(dfd) < 0)
        _exit(13);
    path_in(q, sizeof q, dir, "replacing.txt");
    if (write_file(q, "new", true) < 0 || fio_rename(q, p) < 0)
        _exit(14);
    path_in(p, sizeof p, dir, "unsynced.txt");
    if (write_file(p, "lost", false) < 0)
        _exit(15);
    path_in(p, sizeof p, dir, "moving.txt");
    path_in(q, sizeof q, dir, "moved.txt");
    if (fio_rename(p, q) < 0)
        _exit(16);
    if (fio_fault_set("powercut@1") < 0)
        _exit(17);
    fio_fsync(dfd);                               /* the cut: never happens */
    _exit(18);
}

static void read_text(const char *dir, const char *name, char *out, size_t cap)
{
    char p[700];
    path_in(p, sizeof p, dir, name);
    out[0] = '\0';
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void a_power_cut_undoes_what_was_not_durable(void)
{
    if (!fio_faults_built())
        return;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        power_cut_child(dir);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), FIO_POWERCUT_STATUS);
    char text[64], p[700];
    read_text(dir, "synced.txt", text, sizeof text);
    CHECK_EQ_STR(text, "durable");
    read_text(dir, "appended.txt", text, sizeof text);
    CHECK_EQ_STR(text, "12345");                  /* append cut, overwrite undone */
    read_text(dir, "replaced.txt", text, sizeof text);
    CHECK_EQ_STR(text, "old");                    /* rename over it undone */
    path_in(p, sizeof p, dir, "replacing.txt");
    CHECK(access(p, F_OK) != 0);                  /* its entry was never durable */
    path_in(p, sizeof p, dir, "unsynced.txt");
    CHECK(access(p, F_OK) != 0);                  /* never durable: gone */
    path_in(p, sizeof p, dir, "moved.txt");
    CHECK(access(p, F_OK) != 0);
    read_text(dir, "moving.txt", text, sizeof text);
    CHECK_EQ_STR(text, "moved");
}

TEST_MAIN("fio",
          T(without_the_hook_rules_are_refused),
          T(malformed_rules_are_refused),
          T(the_nth_operation_fails_once_or_from_then_on),
          T(a_path_part_narrows_a_rule_to_one_disk),
          T(a_power_cut_undoes_what_was_not_durable))
