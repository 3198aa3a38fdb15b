/*
 * dirwatch.c — a drop directory watched by one thread (see dirwatch.h).
 */
#include "dirwatch.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dirwatch {
    pthread_t thread;
    atomic_bool stop;
    char dir[512], name[32];
    dw_fn fn;
    void *ctx;
};

static void move_to(const char *dir, const char *sub, const char *name, const json_t *report)
{
    char from[1200], to[1200], rep[1300];
    snprintf(from, sizeof from, "%s/%s", dir, name);
    snprintf(to, sizeof to, "%s/%s/%s", dir, sub, name);
    snprintf(rep, sizeof rep, "%s/%s/%s.report.json", dir, sub, name);
    if (rename(from, to) != 0)
        yj_log(YJ_LOG_ERROR, "dirwatch.move_failed", "%s -> %s: %s", from, to, strerror(errno));
    if (report)
        json_dump_file(report, rep, JSON_INDENT(2));
}

static bool in_progress(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' || (n > 4 && strcmp(name + n - 4, ".tmp") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".part") == 0);
}

static void *watch_main(void *arg)
{
    dirwatch *w = arg;
    while (!atomic_load(&w->stop)) {
        DIR *d = opendir(w->dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL && !atomic_load(&w->stop)) {
            if (in_progress(e->d_name))
                continue;
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", w->dir, e->d_name);
            struct stat sb;
            /* settled regular files only (unchanged for 2 seconds) */
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
                (int64_t)sb.st_mtime * 1000 > yj_now_ms() - 2000)
                continue;
            json_t *report = NULL;
            char why[512] = "";
            dw_result r = w->fn(path, &report, why, sizeof why, w->ctx);
            if (r == DW_DONE) {
                yj_log(YJ_LOG_INFO, "dirwatch.done", "%s: %s", w->name, e->d_name);
                move_to(w->dir, "done", e->d_name, report);
            } else if (r == DW_FAILED) {
                yj_log(YJ_LOG_ERROR, "dirwatch.failed", "%s: %s: %s", w->name, e->d_name, why);
                if (report == NULL)
                    report = json_pack("{s:s,s:s}", "file", path, "error", why);
                move_to(w->dir, "failed", e->d_name, report);
            } else {
                yj_log(YJ_LOG_ERROR, "dirwatch.retry", "%s: %s: %s", w->name, e->d_name, why);
            }
            json_decref(report);
        }
        if (d)
            closedir(d);
        for (int i = 0; i < 20 && !atomic_load(&w->stop); i++)
            usleep(100000);
    }
    return NULL;
}

dirwatch *dirwatch_start(const char *dir, const char *name, dw_fn fn, void *ctx, yj_err *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        yj_err_set(err, YJ_EIO, NULL, "%s directory %s does not exist", name, dir);
        return NULL;
    }
    char sub[600];
    snprintf(sub, sizeof sub, "%s/done", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/failed", dir);
    mkdir(sub, 0755);
    dirwatch *w = calloc(1, sizeof *w);
    if (w == NULL) {
        yj_err_set(err, YJ_EINTERNAL, NULL, "out of memory");
        return NULL;
    }
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->fn = fn;
    w->ctx = ctx;
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        free(w);
        yj_err_set(err, YJ_EINTERNAL, NULL, "cannot start the %s watcher", name);
        return NULL;
    }
    return w;
}

void dirwatch_stop(dirwatch *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w);
}
