/* auth.c: bearer tokens and their scopes, as pure functions of the path
 * and the Authorization header (http.c turns a refusal into the answer).
 *
 * Two scopes: the read token reaches every path under auth_prefix (and
 * /metrics with auth_metrics); the admin token, when set, is the only one
 * that reaches admin_prefix and reaches the rest too. Both tokens are
 * compared on every request, each in time that depends only on its own
 * length, so the time taken does not tell which one (if any) matched.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

int http_secret_set(http_secret *sec, const char *text)
{
    if (!text || !*text)
        return 0;
    if (!(sec->text = strdup(text)))
        return -1;
    sec->len = strlen(text);
    return 0;
}

void http_secret_clear(http_secret *sec)
{
    if (sec->text) {
        memset(sec->text, 0, sec->len); /* do not leave the secret in freed memory */
        free(sec->text);
    }
    sec->text = NULL;
    sec->len = 0;
}

/* Compares in time that depends on the expected token's length only. */
static int token_equal(const char *given, size_t glen, const http_secret *token)
{
    volatile unsigned char diff = glen != token->len;
    for (size_t i = 0; i < token->len; i++) {
        unsigned char g = i < glen ? (unsigned char)given[i] : 0;
        diff |= g ^ (unsigned char)token->text[i];
    }
    return diff == 0;
}

/* The token a path needs: 0 none, 1 the read token (or the admin one),
 * 2 the admin token. */
static int auth_scope(const http_tokens *t, const char *path)
{
    if (t->admin.text && strncmp(path, t->admin_prefix, strlen(t->admin_prefix)) == 0)
        return 2;
    if (!t->read.text)
        return 0;
    if (strncmp(path, t->auth_prefix, strlen(t->auth_prefix)) == 0)
        return 1;
    return t->auth_metrics && strcmp(path, "/metrics") == 0;
}

int http_auth_check(const http_tokens *t, const char *path, const char *authorization, int *www,
                    char *why, size_t whylen)
{
    int scope = auth_scope(t, path);
    *www = 0;
    if (!scope)
        return 0;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
        *www = 1;
        pdm_err(why, whylen, "missing bearer token: send \"Authorization: Bearer <token>\"");
        return 401;
    }
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    size_t glen = strlen(given);
    while (glen > 0 && given[glen - 1] == ' ')
        glen--;
    int is_read = t->read.text && token_equal(given, glen, &t->read);
    int is_admin = t->admin.text && token_equal(given, glen, &t->admin);
    if (is_admin || (scope == 1 && is_read))
        return 0;
    *www = is_read ? 3 : 2;
    if (is_read)
        pdm_err(why, whylen, "this token does not reach %s: the admin token does",
                t->admin_prefix);
    else
        pdm_err(why, whylen, "invalid bearer token");
    return 403;
}
