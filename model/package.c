/* package.c: model metadata, the package directory, its version.
 *
 * The version is a content hash (SHA-256 of model.ubj, then the compact
 * metadata text without "version"; first 12 hex digits), so it names exactly
 * what is scored and loading can prove the files belong together (the digest
 * is nettle's, already in the process through libmicrohttpd's GnuTLS; OpenSSL's
 * EVP interface would cost the scorer 2 MiB of RSS for its provider tables). The
 * metadata is therefore frozen once the version is computed ("sealed").
 *
 * Saving never exposes a partial package: files go to a fresh directory
 * beside the destination (same file system), are fsync'ed, and the directory
 * is renamed into place; an existing package there is swapped out atomically
 * (renameat2 RENAME_EXCHANGE) and then removed. Packages are flat
 * directories, which keeps removal simple and safe. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "model_internal.h"

#define PACKAGE_FORMAT "pdm-model-1"
#define MODEL_FILE "model.ubj"
#define META_FILE "model.json"

static const char *const class_names[PDM_MODEL_N_CLASSES] = {"none", "comp1", "comp2", "comp3",
                                                             "comp4"};

/* Keys the module writes itself; pdm_model_set_info may not touch them. */
static const char *const owned_keys[] = {"version",
                                         "format",
                                         "feature_set",
                                         "features",
                                         "classes",
                                         "horizon_hours",
                                         "params",
                                         "thresholds",
                                         "alert_policy",
                                         "predictor",
                                         "reference_histograms"};

/* ---- metadata ----------------------------------------------------------- */

static cJSON *predictor_json(size_t nfeat)
{
    int major, minor, patch;
    char version[32];
    XGBoostVersion(&major, &minor, &patch);
    snprintf(version, sizeof version, "%d.%d.%d", major, minor, patch);
    cJSON *p = cJSON_CreateObject();
    if (!p || !cJSON_AddStringToObject(p, "library", "xgboost") ||
        !cJSON_AddStringToObject(p, "library_version", version) ||
        !cJSON_AddStringToObject(p, "model_file", MODEL_FILE) ||
        !cJSON_AddStringToObject(p, "model_format", "ubj") ||
        !cJSON_AddNumberToObject(p, "n_features", (double)nfeat) ||
        !cJSON_AddNumberToObject(p, "n_classes", PDM_MODEL_N_CLASSES) ||
        !cJSON_AddStringToObject(p, "input", "row-major doubles in feature order, NaN = missing") ||
        !cJSON_AddStringToObject(p, "output", "softmax probabilities of the classes") ||
        !cJSON_AddStringToObject(p, "risk", "1 - P(none)") ||
        !cJSON_AddStringToObject(p, "contributions",
                                 "TreeSHAP per class margin, linearised to the log-odds of the "
                                 "risk: sum_{k>=1} (p_k / risk) phi_k - phi_0")) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

static cJSON *thresholds_json(double warn, double critical, const char *rule)
{
    cJSON *t = cJSON_CreateObject();
    if (!t || !cJSON_AddNumberToObject(t, "warn", warn) ||
        !cJSON_AddNumberToObject(t, "critical", critical) ||
        !cJSON_AddStringToObject(t, "rule", rule)) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

int pdm_model_init_meta(pdm_model *m, const char *feature_set, cJSON *params, char *errstr,
                        size_t errlen)
{
    cJSON *meta = cJSON_CreateObject();
    cJSON *features = cJSON_CreateStringArray((const char *const *)m->feature_names, (int)m->nfeat);
    cJSON *classes = cJSON_CreateStringArray(class_names, PDM_MODEL_N_CLASSES);
    cJSON *predictor = predictor_json(m->nfeat);
    cJSON *thresholds = thresholds_json(m->warn, m->critical, "default");
    int ok = meta && features && classes && predictor && thresholds && params &&
             cJSON_AddStringToObject(meta, "format", PACKAGE_FORMAT) &&
             cJSON_AddStringToObject(meta, "feature_set", feature_set ? feature_set : "");
    ok = ok && cJSON_AddItemToObject(meta, "features", features) && !(features = NULL);
    ok = ok && cJSON_AddItemToObject(meta, "classes", classes) && !(classes = NULL);
    ok = ok && cJSON_AddNullToObject(meta, "horizon_hours");
    ok = ok && cJSON_AddItemToObject(meta, "params", params) && !(params = NULL);
    ok = ok && cJSON_AddItemToObject(meta, "thresholds", thresholds) && !(thresholds = NULL);
    ok = ok && cJSON_AddNullToObject(meta, "alert_policy");
    ok = ok && cJSON_AddItemToObject(meta, "predictor", predictor) && !(predictor = NULL);
    ok = ok && cJSON_AddNullToObject(meta, "reference_histograms");
    cJSON_Delete(features);
    cJSON_Delete(classes);
    cJSON_Delete(params);
    cJSON_Delete(thresholds);
    cJSON_Delete(predictor);
    if (!ok) {
        cJSON_Delete(meta);
        return pdm_err(errstr, errlen, "out of memory for the model metadata");
    }
    cJSON_Delete(m->meta);
    m->meta = meta;
    return 0;
}

/* Replaces meta[key] (keeping its place) or appends it; takes value. */
static int meta_put(pdm_model *m, const char *key, cJSON *value, char *errstr, size_t errlen)
{
    if (m->sealed) {
        cJSON_Delete(value);
        return pdm_err(errstr, errlen, "model %s is sealed: its metadata cannot change",
                       m->version);
    }
    if (!value)
        return pdm_err(errstr, errlen, "out of memory for metadata '%s'", key);
    int ok = cJSON_HasObjectItem(m->meta, key)
                 ? cJSON_ReplaceItemInObjectCaseSensitive(m->meta, key, value)
                 : cJSON_AddItemToObject(m->meta, key, value);
    if (!ok) {
        cJSON_Delete(value);
        return pdm_err(errstr, errlen, "cannot set metadata '%s'", key);
    }
    return 0;
}

int pdm_model_set_thresholds(pdm_model *m, double warn, double critical, const char *rule,
                             char *errstr, size_t errlen)
{
    if (!(warn >= 0 && warn <= 1 && critical >= warn && critical <= 1))
        return pdm_err(errstr, errlen, "thresholds need 0 <= warn <= critical <= 1 (got %g, %g)",
                       warn, critical);
    if (meta_put(m, "thresholds", thresholds_json(warn, critical, rule ? rule : ""), errstr,
                 errlen))
        return -1;
    m->warn = warn;
    m->critical = critical;
    return 0;
}

static cJSON *alert_policy_json(const pdm_alert_policy *p, const char *rule)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddNumberToObject(j, "warn_clear", p->warn_clear) ||
        !cJSON_AddNumberToObject(j, "critical_clear", p->critical_clear) ||
        !cJSON_AddNumberToObject(j, "confirm_m", p->confirm_m) ||
        !cJSON_AddNumberToObject(j, "confirm_n", p->confirm_n) ||
        !cJSON_AddNumberToObject(j, "min_hold_ms", (double)p->min_hold_ms) ||
        !cJSON_AddNumberToObject(j, "renotify_ms", (double)p->renotify_ms) ||
        !cJSON_AddStringToObject(j, "rule", rule)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int pdm_model_set_alert_policy(pdm_model *m, const pdm_alert_policy *p, const char *rule,
                               char *errstr, size_t errlen)
{
    pdm_alert_policy q = *p;
    char err[PDM_ERRSTR_SIZE];
    q.warn = m->warn;
    q.critical = m->critical;
    if (pdm_alert_policy_check(&q, err, sizeof err))
        return pdm_err(errstr, errlen, "alert policy: %s", err);
    if (meta_put(m, "alert_policy", alert_policy_json(&q, rule ? rule : ""), errstr, errlen))
        return -1;
    m->alert = q;
    m->has_alert_policy = 1;
    return 0;
}

int pdm_model_set_horizon(pdm_model *m, double hours, char *errstr, size_t errlen)
{
    if (!(hours > 0))
        return pdm_err(errstr, errlen, "horizon must be > 0 hours, not %g", hours);
    if (meta_put(m, "horizon_hours", cJSON_CreateNumber(hours), errstr, errlen))
        return -1;
    m->horizon_hours = hours;
    return 0;
}

int pdm_model_set_info(pdm_model *m, const char *key, cJSON *value, char *errstr, size_t errlen)
{
    for (size_t i = 0; i < sizeof owned_keys / sizeof *owned_keys; i++) {
        if (strcmp(key, owned_keys[i]) == 0) {
            cJSON_Delete(value);
            return pdm_err(errstr, errlen, "metadata key '%s' belongs to the model module", key);
        }
    }
    return meta_put(m, key, value, errstr, errlen);
}

cJSON *pdm_histogram_to_json(const pdm_histogram *h)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *edges = cJSON_AddArrayToObject(j, "edges");
    cJSON *shares = cJSON_AddArrayToObject(j, "shares");
    if (!j || !edges || !shares)
        goto fail;
    for (int k = 0; k <= PDM_MODEL_HIST_BINS; k++) {
        cJSON *v = pdm_json_number(h->edges[k]);
        if (!v || !cJSON_AddItemToArray(edges, v))
            goto fail;
        if (k == PDM_MODEL_HIST_BINS)
            break;
        v = pdm_json_number(h->share[k]);
        if (!v || !cJSON_AddItemToArray(shares, v))
            goto fail;
    }
    if (!cJSON_AddNumberToObject(j, "missing", h->missing) ||
        !cJSON_AddNumberToObject(j, "rows", (double)h->count))
        goto fail;
    return j;
fail:
    cJSON_Delete(j);
    return NULL;
}

int pdm_histogram_from_json(const cJSON *j, pdm_histogram *h)
{
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(j, "edges");
    const cJSON *shares = cJSON_GetObjectItemCaseSensitive(j, "shares");
    const cJSON *missing = cJSON_GetObjectItemCaseSensitive(j, "missing");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    if (cJSON_GetArraySize(edges) != PDM_MODEL_HIST_BINS + 1 ||
        cJSON_GetArraySize(shares) != PDM_MODEL_HIST_BINS || !cJSON_IsNumber(missing) ||
        !cJSON_IsNumber(rows))
        return -1;
    for (int k = 0; k <= PDM_MODEL_HIST_BINS; k++) {
        const cJSON *e = cJSON_GetArrayItem(edges, k);
        if (!cJSON_IsNumber(e) && !cJSON_IsNull(e))
            return -1;
        h->edges[k] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (k == PDM_MODEL_HIST_BINS)
            break;
        const cJSON *s = cJSON_GetArrayItem(shares, k);
        if (!cJSON_IsNumber(s))
            return -1;
        h->share[k] = s->valuedouble;
    }
    h->missing = missing->valuedouble;
    h->count = rows->valuedouble > 0 ? (size_t)rows->valuedouble : 0;
    return 0;
}

static cJSON *reference_json(const pdm_model *m)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddNumberToObject(j, "bins", PDM_MODEL_HIST_BINS) ||
        !cJSON_AddStringToObject(
            j, "rule",
            "training rows; edges = min, 10%..90% quantiles (linear interpolation), max; bin k "
            "holds edges[k] <= v < edges[k+1], outside values in the end bins; shares and "
            "missing are shares of all rows"))
        goto fail;
    cJSON *features = cJSON_AddObjectToObject(j, "features");
    if (!features)
        goto fail;
    for (size_t i = 0; i < m->nfeat; i++) {
        cJSON *h = pdm_histogram_to_json(&m->feature_hist[i]);
        if (!h || !cJSON_AddItemToObject(features, m->feature_names[i], h)) {
            cJSON_Delete(h);
            goto fail;
        }
    }
    cJSON *risk = pdm_histogram_to_json(&m->risk_hist);
    if (!risk || !cJSON_AddItemToObject(j, "risk", risk)) {
        cJSON_Delete(risk);
        goto fail;
    }
    return j;
fail:
    cJSON_Delete(j);
    return NULL;
}

int pdm_model_set_reference(pdm_model *m, const double *rows, size_t n_rows, const double *risk,
                            size_t n_risk, char *errstr, size_t errlen)
{
    pdm_histogram *hist = calloc(m->nfeat ? m->nfeat : 1, sizeof *hist);
    pdm_histogram risk_hist;
    if (!hist)
        return pdm_err(errstr, errlen, "out of memory for histograms");
    if (pdm_histogram_build_columns(rows, n_rows, m->nfeat, m->nfeat, hist, errstr, errlen)) {
        free(hist);
        return -1;
    }
    if (pdm_histogram_build(risk, n_risk, 1, &risk_hist, errstr, errlen)) {
        free(hist);
        return -1;
    }
    pdm_histogram *old = m->feature_hist;
    pdm_histogram old_risk = m->risk_hist;
    m->feature_hist = hist;
    m->risk_hist = risk_hist;
    if (meta_put(m, "reference_histograms", reference_json(m), errstr, errlen)) {
        m->feature_hist = old;
        m->risk_hist = old_risk;
        free(hist);
        return -1;
    }
    free(old);
    return 0;
}

/* ---- version ------------------------------------------------------------ */

int pdm_model_content_version(const void *model, size_t model_len, const char *meta_text,
                              char out[PDM_MODEL_VERSION_LEN + 1], char *errstr, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    (void)errstr;
    (void)errlen;
    sha256_init(&ctx);
    sha256_update(&ctx, model_len, model);
    sha256_update(&ctx, strlen(meta_text), (const uint8_t *)meta_text);
    sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < PDM_MODEL_VERSION_LEN / 2; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[PDM_MODEL_VERSION_LEN] = '\0';
    return 0;
}

int pdm_model_seal(pdm_model *m, char *errstr, size_t errlen)
{
    bst_ulong len;
    const char *bytes;
    char *text = NULL;
    int rc = -1;

    if (m->sealed)
        return 0;
    pthread_mutex_lock(&m->lock);
    if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\":\"ubj\"}", &len, &bytes)) {
        pdm_err(errstr, errlen, "xgboost: serialise model: %s", XGBGetLastError());
        goto out;
    }
    free(m->model_bytes);
    m->model_bytes = malloc(len ? len : 1);
    text = cJSON_PrintUnformatted(m->meta);
    if (!m->model_bytes || !text) {
        pdm_err(errstr, errlen, "out of memory sealing the model");
        goto out;
    }
    memcpy(m->model_bytes, bytes, len);
    m->model_len = len;
    if (pdm_model_content_version(m->model_bytes, m->model_len, text, m->version, errstr, errlen))
        goto out;
    m->sealed = 1;
    rc = 0;
out:
    pthread_mutex_unlock(&m->lock);
    free(text);
    return rc;
}

/* model.json as saved: "version" first, then the metadata. */
static cJSON *full_metadata(const pdm_model *m)
{
    cJSON *full = cJSON_CreateObject();
    if (!full)
        return NULL;
    if (m->sealed && !cJSON_AddStringToObject(full, "version", m->version))
        goto fail;
    for (const cJSON *c = m->meta ? m->meta->child : NULL; c; c = c->next) {
        cJSON *dup = cJSON_Duplicate(c, 1);
        if (!dup || !cJSON_AddItemToObject(full, c->string, dup)) {
            cJSON_Delete(dup);
            goto fail;
        }
    }
    return full;
fail:
    cJSON_Delete(full);
    return NULL;
}

char *pdm_model_metadata_text(const pdm_model *m)
{
    cJSON *full = full_metadata(m);
    char *text = full ? cJSON_Print(full) : NULL;
    cJSON_Delete(full);
    return text;
}

/* ---- files -------------------------------------------------------------- */

static int write_file_synced(const char *dir, const char *name, const void *data, size_t len,
                             char *errstr, size_t errlen)
{
    char path[4096];
    const char *p = data;
    int fd = -1, rc = -1;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return pdm_err(errstr, errlen, "path too long: %s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        pdm_err(errstr, errlen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            pdm_err(errstr, errlen, "cannot write %s: %s", path, strerror(errno));
            goto out;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd)) {
        pdm_err(errstr, errlen, "cannot sync %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) && rc == 0)
        rc = pdm_err(errstr, errlen, "cannot close %s: %s", path, strerror(errno));
    return rc;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Removes a flat directory (its files, then itself). */
static int remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    return rmdir(dir);
}

static int is_package_dir(const char *dir)
{
    char path[4096];
    struct stat st;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, META_FILE) >= sizeof path)
        return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int valid_extra_name(const char *name)
{
    return name && name[0] && name[0] != '.' && !strchr(name, '/') && strcmp(name, MODEL_FILE) &&
           strcmp(name, META_FILE);
}

/* Moves the complete directory tmp to dir, swapping out an existing package. */
static int install_dir(const char *tmp, const char *dir, char *errstr, size_t errlen)
{
    if (rename(tmp, dir) == 0)
        return 0; /* dir did not exist, or was empty */
    if (errno != EEXIST && errno != ENOTEMPTY)
        return pdm_err(errstr, errlen, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
    if (!is_package_dir(dir))
        return pdm_err(errstr, errlen, "%s exists and is not a model package: not replacing it",
                       dir);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        remove_flat_dir(tmp); /* now the old package */
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS)
        return pdm_err(errstr, errlen, "cannot swap %s into %s: %s", tmp, dir, strerror(errno));
    /* No atomic exchange on this file system: move the old one aside first. */
    char old[4096];
    if ((size_t)snprintf(old, sizeof old, "%s.old", tmp) >= sizeof old)
        return pdm_err(errstr, errlen, "path too long: %s", tmp);
    if (rename(dir, old))
        return pdm_err(errstr, errlen, "cannot move %s aside: %s", dir, strerror(errno));
    if (rename(tmp, dir)) {
        int e = errno;
        rename(old, dir);
        return pdm_err(errstr, errlen, "cannot rename %s to %s: %s", tmp, dir, strerror(e));
    }
    remove_flat_dir(old);
    return 0;
}

int pdm_model_save(pdm_model *m, const char *dir, const pdm_model_file *extra, size_t n_extra,
                   char *errstr, size_t errlen)
{
    char target[4096], parent[4096], tmp[4096];
    char *text = NULL;
    cJSON *full = NULL;
    int rc = -1, made_tmp = 0;

    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof target)
        return pdm_err(errstr, errlen, "bad package directory '%s'", dir);
    memcpy(target, dir, len);
    target[len] = '\0';
    for (size_t i = 0; i < n_extra; i++)
        if (!valid_extra_name(extra[i].name))
            return pdm_err(errstr, errlen, "bad extra file name '%s' for a package",
                           extra[i].name ? extra[i].name : "(null)");
    if (pdm_model_seal(m, errstr, errlen))
        return -1;

    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == target)
        snprintf(parent, sizeof parent, "/");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - target), target);
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return pdm_err(errstr, errlen, "bad package directory '%s'", dir);
    if (pdm_mkdirs(parent, errstr, errlen))
        return -1;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", parent, base) >= sizeof tmp)
        return pdm_err(errstr, errlen, "path too long: %s", dir);
    if (!mkdtemp(tmp))
        return pdm_err(errstr, errlen, "cannot create a directory beside %s: %s", target,
                       strerror(errno));
    made_tmp = 1;
    chmod(tmp, 0755);

    full = full_metadata(m);
    text = full ? cJSON_Print(full) : NULL;
    if (!text) {
        pdm_err(errstr, errlen, "out of memory for the metadata text");
        goto out;
    }
    if (write_file_synced(tmp, MODEL_FILE, m->model_bytes, m->model_len, errstr, errlen) ||
        write_file_synced(tmp, META_FILE, text, strlen(text), errstr, errlen))
        goto out;
    for (size_t i = 0; i < n_extra; i++)
        if (write_file_synced(tmp, extra[i].name, extra[i].data, extra[i].len, errstr, errlen))
            goto out;
    sync_dir(tmp);
    if (install_dir(tmp, target, errstr, errlen))
        goto out;
    made_tmp = 0;
    sync_dir(parent);
    rc = 0;
out:
    if (made_tmp)
        remove_flat_dir(tmp);
    free(text);
    cJSON_Delete(full);
    return rc;
}

/* ---- load --------------------------------------------------------------- */

static int load_names(const cJSON *features, pdm_model **out, char *errstr, size_t errlen)
{
    int n = cJSON_GetArraySize(features);
    const char **names = NULL;
    int rc = -1;

    if (!cJSON_IsArray(features) || n < 1)
        return pdm_err(errstr, errlen, "no \"features\" list");
    names = calloc((size_t)n, sizeof *names);
    if (!names)
        return pdm_err(errstr, errlen, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *f = cJSON_GetArrayItem(features, i);
        if (!cJSON_IsString(f)) {
            pdm_err(errstr, errlen, "feature %d is not a name", i);
            goto out;
        }
        names[i] = f->valuestring;
    }
    *out = pdm_model_alloc(names, (size_t)n);
    if (!*out) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(names);
    return rc;
}

/* "alert_policy": absent or null in packages older than it (the caller then
 * gets pdm_alert_policy_init's defaults); else every field, checked. */
static int load_alert_policy(pdm_model *m, char *errstr, size_t errlen)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(m->meta, "alert_policy");
    static const char *const keys[] = {"warn_clear", "critical_clear", "confirm_m",
                                       "confirm_n",  "min_hold_ms",    "renotify_ms"};
    double v[6];
    char err[PDM_ERRSTR_SIZE];
    if (!j || cJSON_IsNull(j))
        return 0;
    for (int i = 0; i < 6; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        if (!cJSON_IsNumber(f))
            return pdm_err(errstr, errlen, "bad \"alert_policy\": no number \"%s\"", keys[i]);
        v[i] = f->valuedouble;
    }
    for (int i = 2; i < 6; i++)
        if (!(v[i] >= 0 && v[i] <= 1e15 && v[i] == floor(v[i])))
            return pdm_err(errstr, errlen, "bad \"alert_policy\": \"%s\" is not a count", keys[i]);
    pdm_alert_policy p = {.warn = m->warn,
                          .critical = m->critical,
                          .warn_clear = v[0],
                          .critical_clear = v[1],
                          .confirm_m = (int)fmin(v[2], 1e6),
                          .confirm_n = (int)fmin(v[3], 1e6),
                          .min_hold_ms = (int64_t)v[4],
                          .renotify_ms = (int64_t)v[5]};
    if (pdm_alert_policy_check(&p, err, sizeof err))
        return pdm_err(errstr, errlen, "bad \"alert_policy\": %s", err);
    m->alert = p;
    m->has_alert_policy = 1;
    return 0;
}

static int load_fields(pdm_model *m, char *errstr, size_t errlen)
{
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(m->meta, "classes");
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(m->meta, "thresholds");
    const cJSON *warn = cJSON_GetObjectItemCaseSensitive(th, "warn");
    const cJSON *critical = cJSON_GetObjectItemCaseSensitive(th, "critical");
    const cJSON *horizon = cJSON_GetObjectItemCaseSensitive(m->meta, "horizon_hours");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(m->meta, "reference_histograms");

    if (cJSON_GetArraySize(classes) != PDM_MODEL_N_CLASSES)
        return pdm_err(errstr, errlen, "\"classes\" must list %d classes", PDM_MODEL_N_CLASSES);
    for (int k = 0; k < PDM_MODEL_N_CLASSES; k++) {
        const cJSON *c = cJSON_GetArrayItem(classes, k);
        if (!cJSON_IsString(c) || strcmp(c->valuestring, class_names[k]))
            return pdm_err(errstr, errlen, "class %d must be \"%s\"", k, class_names[k]);
    }
    if (!cJSON_IsNumber(warn) || !cJSON_IsNumber(critical) ||
        !(warn->valuedouble >= 0 && warn->valuedouble <= critical->valuedouble &&
          critical->valuedouble <= 1))
        return pdm_err(errstr, errlen, "bad \"thresholds\" (need 0 <= warn <= critical <= 1)");
    m->warn = warn->valuedouble;
    m->critical = critical->valuedouble;
    if (load_alert_policy(m, errstr, errlen))
        return -1;
    m->horizon_hours = cJSON_IsNumber(horizon) ? horizon->valuedouble : NAN;
    if (cJSON_IsObject(ref)) {
        const cJSON *features = cJSON_GetObjectItemCaseSensitive(ref, "features");
        m->feature_hist = calloc(m->nfeat, sizeof *m->feature_hist);
        if (!m->feature_hist)
            return pdm_err(errstr, errlen, "out of memory");
        for (size_t i = 0; i < m->nfeat; i++) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(features, m->feature_names[i]);
            if (pdm_histogram_from_json(h, &m->feature_hist[i]))
                return pdm_err(errstr, errlen, "bad reference histogram of feature %s",
                               m->feature_names[i]);
        }
        if (pdm_histogram_from_json(cJSON_GetObjectItemCaseSensitive(ref, "risk"), &m->risk_hist))
            return pdm_err(errstr, errlen, "bad reference histogram of the risk");
    }
    return 0;
}

int pdm_model_load(const char *dir, pdm_model **out, char *errstr, size_t errlen)
{
    char path[4096], err[PDM_ERRSTR_SIZE] = "";
    pdm_buf meta_text = {0}, model_bytes = {0};
    cJSON *meta = NULL, *version = NULL;
    char *compact = NULL;
    pdm_model *m = NULL;
    char want[PDM_MODEL_VERSION_LEN + 1];
    int rc = -1;

    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, META_FILE) >= sizeof path) {
        snprintf(err, sizeof err, "path too long");
        goto fail;
    }
    if (pdm_read_file(path, &meta_text, err, sizeof err))
        goto fail;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, MODEL_FILE) >= sizeof path) {
        snprintf(err, sizeof err, "path too long");
        goto fail;
    }
    if (pdm_read_file(path, &model_bytes, err, sizeof err))
        goto fail;
    meta = cJSON_Parse(meta_text.data);
    if (!cJSON_IsObject(meta)) {
        snprintf(err, sizeof err, "%s is not a JSON object", META_FILE);
        goto fail;
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(meta, "format");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, PACKAGE_FORMAT)) {
        snprintf(err, sizeof err, "not a %s package (\"format\")", PACKAGE_FORMAT);
        goto fail;
    }
    version = cJSON_DetachItemFromObjectCaseSensitive(meta, "version");
    if (!cJSON_IsString(version) || strlen(version->valuestring) != PDM_MODEL_VERSION_LEN) {
        snprintf(err, sizeof err, "no valid \"version\"");
        goto fail;
    }
    compact = cJSON_PrintUnformatted(meta);
    if (!compact) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (pdm_model_content_version(model_bytes.data, model_bytes.len, compact, want, err,
                                  sizeof err))
        goto fail;
    if (strcmp(want, version->valuestring)) {
        snprintf(err, sizeof err,
                 "content does not match version %s (hash %s): altered or mixed files",
                 version->valuestring, want);
        goto fail;
    }
    if (load_names(cJSON_GetObjectItemCaseSensitive(meta, "features"), &m, err, sizeof err))
        goto fail;
    m->meta = meta;
    meta = NULL;
    if (load_fields(m, err, sizeof err))
        goto fail;
    bst_ulong nfeat = 0;
    if (XGBoosterCreate(NULL, 0, &m->booster) ||
        XGBoosterLoadModelFromBuffer(m->booster, model_bytes.data, model_bytes.len) ||
        XGBoosterGetNumFeature(m->booster, &nfeat)) {
        snprintf(err, sizeof err, "xgboost: %s", XGBGetLastError());
        goto fail;
    }
    if (nfeat != m->nfeat) {
        snprintf(err, sizeof err, "the booster has %lu features, the metadata %zu",
                 (unsigned long)nfeat, m->nfeat);
        goto fail;
    }
    memcpy(m->version, version->valuestring, sizeof m->version);
    m->model_bytes = (unsigned char *)model_bytes.data;
    m->model_len = model_bytes.len;
    model_bytes.data = NULL;
    m->sealed = 1;
    *out = m;
    m = NULL;
    rc = 0;
    goto out;
fail:
    pdm_err(errstr, errlen, "model package %s: %s", dir, err);
out:
    pdm_buf_free(&meta_text);
    pdm_buf_free(&model_bytes);
    cJSON_Delete(meta);
    cJSON_Delete(version);
    free(compact);
    pdm_model_destroy(m);
    return rc;
}
