/* SPDX-License-Identifier: MIT */
/*
 * http: the plain request/response model: headers, one-line text bodies,
 * reason phrases, HTTP dates and conditional requests (ETag lists,
 * If-Modified-Since). Pure, thread-safe.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve/http.h"

void
vl_http_resp_init(vl_http_resp_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 500;
    resp->cache = "-";
}

int
vl_http_header_add(vl_http_resp_t *resp, vl_pool_t *pool, const char *name,
                   const char *fmt, ...)
{
    va_list ap;
    char    small[1];
    int     n;
    char   *v;

    if (resp->nheaders >= VL_HTTP_MAX_HEADERS) {
        return -1;
    }
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (v = vl_pool_alloc(pool, (size_t) n + 1)) == NULL) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(v, (size_t) n + 1, fmt, ap);
    va_end(ap);
    resp->headers[resp->nheaders].name = name;
    resp->headers[resp->nheaders].value = v;
    resp->nheaders++;
    return 0;
}

const char *
vl_http_header_get(const vl_http_resp_t *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0) {
            return resp->headers[i].value;
        }
    }
    return NULL;
}

int
vl_http_resp_text(vl_http_resp_t *resp, vl_pool_t *pool, int status,
                  const char *msg)
{
    char *body = vl_pool_printf(pool, "%s\n", msg);

    resp->status = status;
    resp->errmsg = msg;
    if (body == NULL) {
        resp->body = NULL;
        resp->body_len = 0;
        return -1;
    }
    resp->body = (const unsigned char *) body;
    resp->body_len = strlen(body);
    return vl_http_header_add(resp, pool, "Content-Type", "text/plain; charset=utf-8");
}

static const char *const http_days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void
vl_http_date(long long t, char *buf, size_t len)
{
    time_t    tt = (time_t) t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", http_days[tm.tm_wday],
             tm.tm_mday, http_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
}

long long
vl_http_date_parse(const char *s)
{
    struct tm tm;
    char      day[4], mon[4];
    int       n = 0;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL
        || sscanf(s, "%3s, %d %3s %d %d:%d:%d GMT%n", day, &tm.tm_mday, mon,
                  &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 7
        || n == 0)
    {
        return -1;
    }
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++) {
        if (strcmp(mon, http_months[i]) == 0) {
            tm.tm_mon = i;
        }
    }
    if (tm.tm_mon < 0 || tm.tm_year < 1970) {
        return -1;
    }
    tm.tm_year -= 1900;
    return (long long) timegm(&tm);
}

static const struct {
    int         status;
    const char *reason;
} http_reasons[] = {
    { 200, "OK" }, { 204, "No Content" }, { 206, "Partial Content" },
    { 301, "Moved Permanently" }, { 302, "Found" }, { 303, "See Other" },
    { 304, "Not Modified" }, { 307, "Temporary Redirect" },
    { 308, "Permanent Redirect" }, { 400, "Bad Request" },
    { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
    { 410, "Gone" }, { 413, "Content Too Large" }, { 414, "URI Too Long" },
    { 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
    { 429, "Too Many Requests" }, { 500, "Internal Server Error" },
    { 501, "Not Implemented" }, { 502, "Bad Gateway" },
    { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};

const char *
vl_http_reason(int status)
{
    for (size_t i = 0; i < sizeof(http_reasons) / sizeof(http_reasons[0]);
         i++)
    {
        if (http_reasons[i].status == status) {
            return http_reasons[i].reason;
        }
    }
    return "Unknown";
}

int
vl_http_etag_match(const char *list, const char *etag)
{
    size_t      elen = strlen(etag);
    const char *p = list;

    while (*p != '\0') {
        const char *end;
        size_t      n;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        end = p;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            end = end != NULL ? end + 1 : p + strlen(p);
        } else {
            end += strcspn(end, ", \t");
        }
        n = (size_t) (end - p);
        if (n == elen && memcmp(p, etag, n) == 0) {
            return 1;
        }
        p = end;
    }
    return 0;
}

int
vl_http_not_modified(const vl_http_req_t *req, const char *etag,
                     long long mtime)
{
    if (req->if_none_match != NULL) {
        return vl_http_etag_match(req->if_none_match, etag);
    }
    if (req->if_modified_since != NULL && mtime >= 0) {
        long long t = vl_http_date_parse(req->if_modified_since);

        return t >= 0 && t >= mtime;
    }
    return 0;
}
