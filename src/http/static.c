/*
 * static.c — the web UI's files from web/, and nothing outside it.
 *
 * The request path (already percent-decoded by the server) is refused if it
 * has a ".." or hidden segment, a backslash or a NUL; the file is then
 * resolved with realpath() and must still lie under the web root, so a
 * symlink pointing out of web/ is refused too.
 */
#include "http.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".geojson", "application/geo+json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".mp3", "audio/mpeg"},
    {".wav", "audio/wav"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *mime_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof mime_types / sizeof mime_types[0]; i++)
        if (strcmp(dot, mime_types[i].ext) == 0)
            return mime_types[i].type;
    return "application/octet-stream";
}

/* Refuse "..", ".hidden", "\", NUL, and empty segments. */
static bool path_safe(const char *p)
{
    if (p[0] != '/' || strchr(p, '\\') || strlen(p) > 512)
        return false;
    for (const char *seg = p + 1; *seg;) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || seg[0] == '.')
            return false;
        seg += len;
        if (*seg == '/')
            seg++;
    }
    return true;
}

void api_static(yj_req *req, yj_resp *resp)
{
    req->route_index = -2;
    const char *root = req->app->web_dir;
    const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    if (root == NULL || !path_safe(path)) {
        http_errorf(resp, YJ_ENOTFOUND, NULL, "not found");
        return;
    }
    char full[PATH_MAX], real[PATH_MAX];
    snprintf(full, sizeof full, "%s%s", root, path);
    size_t rootlen = strlen(root);
    if (realpath(full, real) == NULL || strncmp(real, root, rootlen) != 0 || real[rootlen] != '/') {
        http_errorf(resp, YJ_ENOTFOUND, NULL, "not found");
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        http_errorf(resp, YJ_ENOTFOUND, NULL, "not found");
        return;
    }
    resp->status = 200;
    resp->content_type = mime_for(real);
    resp->file_fd = fd;
    resp->file_size = (size_t)st.st_size;
    http_header_add(resp, "Cache-Control",
                    strstr(path, "/vendor/") == path ? "public, max-age=86400" : "no-cache");
}
