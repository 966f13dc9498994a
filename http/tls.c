/* tls.c: HTTPS for the server: the certificate and key from files,
 * replaceable while the server runs, and optional client certificates.
 *
 * TLS is terminated by the gate (gate.c), not by libmicrohttpd: the gate
 * checks every decrypted request before the daemon sees it (see stream.c).
 *
 * How a new certificate reaches a running server: the credentials hold a
 * certificate callback (GnuTLS's retrieve function), which hands each
 * handshake the current certificate; a reload loads and checks the new
 * pair first and swaps it in only when it is good, so a bad file never
 * takes the server down, and no open connection is cut. The callback has
 * no user pointer: each session carries ours.
 *
 * GnuTLS does not copy what the callback returns, and a session may refer
 * to it after its handshake, so a replaced certificate is kept (a few KB
 * per reload) until the server stops rather than freed under a session.
 *
 * Client certificates (client_ca): the credentials trust the CA, each
 * session requires a certificate and verifies it against that list during
 * the handshake, and the gate checks the verification again after it, so
 * neither a missing nor a foreign certificate gets a request through. The
 * CA file is read at start only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "http_internal.h"

#define MAX_CHAIN 16

static int retrieve_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *pkey);

typedef struct cert_gen {
    struct cert_gen *older;
    gnutls_pcert_st chain[MAX_CHAIN];
    unsigned n;
    gnutls_privkey_t key;
} cert_gen;

struct http_tls {
    pthread_mutex_t lock;
    char *cert_file, *key_file;
    char *client_ca_pem; /* NUL-terminated, NULL without client certificates */
    cert_gen *current;   /* newest first; older ones kept (see above) */
    gnutls_certificate_credentials_t cred;
    atomic_int reload_requested;
};

static void gen_free(cert_gen *g)
{
    if (!g)
        return;
    for (unsigned i = 0; i < g->n; i++)
        gnutls_pcert_deinit(&g->chain[i]);
    if (g->key)
        gnutls_privkey_deinit(g->key);
    free(g);
}

/* 0 if the private key belongs to the first certificate of the chain. */
static int key_matches(cert_gen *g)
{
    unsigned char a[64], b[64];
    size_t alen = sizeof a, blen = sizeof b;
    gnutls_pubkey_t pub = NULL;
    int rc = -1;
    if (gnutls_pubkey_init(&pub) < 0)
        return -1;
    if (gnutls_pubkey_import_privkey(pub, g->key, 0, 0) >= 0 &&
        gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) >= 0 &&
        gnutls_pubkey_get_key_id(g->chain[0].pubkey, GNUTLS_KEYID_USE_SHA256, b, &blen) >= 0 &&
        alen == blen && memcmp(a, b, alen) == 0)
        rc = 0;
    gnutls_pubkey_deinit(pub);
    return rc;
}

/* Loads and checks a certificate chain and its key. NULL with errstr. */
static cert_gen *gen_load(const char *cert_file, const char *key_file, char *errstr, size_t errlen)
{
    gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
    cert_gen *g = calloc(1, sizeof *g);
    int rc;
    if (!g) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    if ((rc = gnutls_load_file(cert_file, &cert)) < 0) {
        pdm_err(errstr, errlen, "cannot read certificate %s: %s", cert_file, gnutls_strerror(rc));
        goto fail;
    }
    if ((rc = gnutls_load_file(key_file, &key)) < 0) {
        pdm_err(errstr, errlen, "cannot read key %s: %s", key_file, gnutls_strerror(rc));
        goto fail;
    }
    g->n = MAX_CHAIN;
    if ((rc = gnutls_pcert_list_import_x509_raw(g->chain, &g->n, &cert, GNUTLS_X509_FMT_PEM,
                                                 GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED)) < 0 ||
        g->n == 0) {
        g->n = 0;
        pdm_err(errstr, errlen, "%s holds no usable PEM certificate chain: %s", cert_file,
                rc < 0 ? gnutls_strerror(rc) : "empty");
        goto fail;
    }
    if ((rc = gnutls_privkey_init(&g->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(g->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        pdm_err(errstr, errlen, "%s holds no usable PEM private key: %s", key_file,
                gnutls_strerror(rc));
        goto fail;
    }
    if (key_matches(g)) {
        pdm_err(errstr, errlen, "the key in %s does not belong to the certificate in %s",
                key_file, cert_file);
        goto fail;
    }
    gnutls_free(cert.data);
    gnutls_free(key.data);
    return g;
fail:
    gnutls_free(cert.data);
    if (key.data) {
        memset(key.data, 0, key.size);
        gnutls_free(key.data);
    }
    gen_free(g);
    return NULL;
}

http_tls *http_tls_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                       char *errstr, size_t errlen)
{
    if (!cert_file || !*cert_file || !key_file || !*key_file) {
        pdm_err(errstr, errlen, "TLS needs both a certificate file and a key file");
        return NULL;
    }
    http_tls *t = calloc(1, sizeof *t);
    if (!t) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    if (!(t->cert_file = strdup(cert_file)) || !(t->key_file = strdup(key_file))) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    if (client_ca_file && *client_ca_file) {
        gnutls_datum_t ca = {NULL, 0};
        gnutls_x509_crt_t *list = NULL;
        unsigned n = 0;
        int rc = gnutls_load_file(client_ca_file, &ca);
        if (rc >= 0)
            rc = gnutls_x509_crt_list_import2(&list, &n, &ca, GNUTLS_X509_FMT_PEM, 0);
        for (unsigned i = 0; i < n; i++)
            gnutls_x509_crt_deinit(list[i]);
        gnutls_free(list);
        if (rc < 0 || n == 0 || !(t->client_ca_pem = strndup((char *)ca.data, ca.size))) {
            pdm_err(errstr, errlen, "client CA %s holds no usable PEM certificate: %s",
                    client_ca_file, rc < 0 ? gnutls_strerror(rc) : "none");
            gnutls_free(ca.data);
            goto fail;
        }
        gnutls_free(ca.data);
    }
    if (!(t->current = gen_load(cert_file, key_file, errstr, errlen)))
        goto fail;
    if (gnutls_certificate_allocate_credentials(&t->cred) < 0) {
        t->cred = NULL;
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    gnutls_certificate_set_retrieve_function2(t->cred, retrieve_cert);
    if (t->client_ca_pem) {
        gnutls_datum_t ca = {(unsigned char *)t->client_ca_pem,
                             (unsigned)strlen(t->client_ca_pem)};
        if (gnutls_certificate_set_x509_trust_mem(t->cred, &ca, GNUTLS_X509_FMT_PEM) <= 0) {
            pdm_err(errstr, errlen, "client CA %s cannot be trusted", client_ca_file);
            goto fail;
        }
    }
    return t;
fail:
    http_tls_destroy(t);
    return NULL;
}

void http_tls_destroy(http_tls *t)
{
    if (!t)
        return;
    cert_gen *g = t->current;
    while (g) {
        cert_gen *older = g->older;
        gen_free(g);
        g = older;
    }
    if (t->cred)
        gnutls_certificate_free_credentials(t->cred);
    free(t->cert_file);
    free(t->key_file);
    free(t->client_ca_pem);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int http_tls_reload(http_tls *t, char *errstr, size_t errlen)
{
    cert_gen *g = gen_load(t->cert_file, t->key_file, errstr, errlen);
    if (!g)
        return -1;
    pthread_mutex_lock(&t->lock);
    g->older = t->current;
    t->current = g;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void http_tls_request_reload(http_tls *t)
{
    atomic_store(&t->reload_requested, 1);
}

int http_tls_take_reload_request(http_tls *t)
{
    return atomic_exchange(&t->reload_requested, 0);
}

int http_tls_fingerprint(http_tls *t, char *out, size_t outlen)
{
    unsigned char fp[32];
    size_t n = sizeof fp;
    pthread_mutex_lock(&t->lock);
    int rc = gnutls_fingerprint(GNUTLS_DIG_SHA256, &t->current->chain[0].cert, fp, &n);
    pthread_mutex_unlock(&t->lock);
    if (rc < 0 || outlen < 2 * n + 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02X", fp[i]);
    return 0;
}

/* GnuTLS asks for the server's certificate: the current one. */
static int retrieve_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *pkey)
{
    http_tls *t = gnutls_session_get_ptr(session);
    if (!t)
        return -1; /* not set up by http_tls_session_new: refuse the handshake */
    pthread_mutex_lock(&t->lock);
    *pcert = t->current->chain;
    *pcert_length = t->current->n;
    *pkey = t->current->key;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int http_tls_session_new(http_tls *t, int fd, gnutls_session_t *out)
{
    gnutls_session_t session = NULL;
    *out = NULL;
    if (gnutls_init(&session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0)
        return -1;
    if (gnutls_set_default_priority(session) < 0 ||
        gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, t->cred) < 0) {
        gnutls_deinit(session);
        return -1;
    }
    gnutls_session_set_ptr(session, t);
    if (t->client_ca_pem) {
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert(session, NULL, 0);
    }
    gnutls_transport_set_int(session, fd);
    *out = session;
    return 0;
}

int http_tls_peer_verified(http_tls *t, gnutls_session_t session)
{
    unsigned status = 0;
    if (!t->client_ca_pem)
        return 1;
    return gnutls_certificate_verify_peers2(session, &status) >= 0 && status == 0;
}
