/* pdm_tracking.h: records training runs in MLflow's file-store layout, so
 * that `mlflow ui --backend-store-uri <mlruns>` lists them, without MLflow.
 *
 *   <mlruns>/<experiment_id>/meta.yaml            the experiment
 *   <mlruns>/<experiment_id>/<run_id>/meta.yaml   the run (status, times, ...)
 *   .../<run_id>/params/<key>    value, no newline (immutable once logged)
 *   .../<run_id>/metrics/<key>   one "<timestamp_ms> <value> <step>" line per log
 *   .../<run_id>/tags/<key>      value, no newline
 *   .../<run_id>/artifacts/      files copied in
 *
 * The YAML is written as MLflow's FileStore writes it (PyYAML safe_dump,
 * block style, sorted keys), a missing store gets the "Default" experiment 0
 * and a .trash folder as MLflow creates them, and an experiment is found by
 * the name in its meta.yaml or created with the next free numeric id (under
 * a lock file, so concurrent trainers never create the same name twice).
 * Keys are validated as MLflow validates them. A run handle is used by one
 * thread at a time.
 */
#ifndef PDM_TRACKING_H
#define PDM_TRACKING_H

#include <stddef.h>
#include <stdint.h>

/* MLflow's RunStatus numbers, as stored in a run's meta.yaml. */
typedef enum {
    PDM_RUN_RUNNING = 1,
    PDM_RUN_SCHEDULED = 2,
    PDM_RUN_FINISHED = 3,
    PDM_RUN_FAILED = 4,
    PDM_RUN_KILLED = 5,
} pdm_run_status;

typedef struct pdm_tracking_run pdm_tracking_run;

/* Starts a RUNNING run in the experiment named experiment_name (NULL or ""
 * means MLflow's "Default", id 0), creating mlruns_dir and the experiment
 * as needed. run_name NULL or "" gives "pdm-YYYYMMDD-HHMMSS". Sets the tags
 * MLflow's client sets: mlflow.runName, mlflow.user, mlflow.source.name
 * (this executable) and mlflow.source.type (LOCAL). */
int pdm_tracking_run_start(const char *mlruns_dir, const char *experiment_name,
                           const char *run_name, pdm_tracking_run **out, char *errstr,
                           size_t errlen);

const char *pdm_tracking_run_id(const pdm_tracking_run *run);        /* 32 hex chars */
const char *pdm_tracking_experiment_id(const pdm_tracking_run *run); /* e.g. "1" */
const char *pdm_tracking_run_dir(const pdm_tracking_run *run);       /* absolute path */

/* A param is immutable: logging a key again with another value fails, with
 * the same value succeeds. Values up to 6000 bytes. */
int pdm_tracking_log_param(pdm_tracking_run *run, const char *key, const char *value, char *errstr,
                           size_t errlen);
/* Appends one value at the current time; step is the x axis MLflow plots. */
int pdm_tracking_log_metric(pdm_tracking_run *run, const char *key, double value, int64_t step,
                            char *errstr, size_t errlen);
/* Same with an explicit timestamp (ms since the epoch, >= 0). */
int pdm_tracking_log_metric_at(pdm_tracking_run *run, const char *key, double value,
                               int64_t timestamp_ms, int64_t step, char *errstr, size_t errlen);
/* Sets (or overwrites) a tag; values up to 5000 bytes. Setting
 * mlflow.runName also renames the run in its meta.yaml, as MLflow does. */
int pdm_tracking_set_tag(pdm_tracking_run *run, const char *key, const char *value, char *errstr,
                         size_t errlen);

/* Copies the tree under src_dir into artifacts/<artifact_subpath>
 * (NULL or "" for artifacts/ itself); regular files and directories,
 * following symlinks. The subpath is relative, without "." or "..". */
int pdm_tracking_log_artifacts(pdm_tracking_run *run, const char *src_dir,
                               const char *artifact_subpath, char *errstr, size_t errlen);
/* Copies one file to artifacts/<artifact_subpath>/<its basename>. */
int pdm_tracking_log_artifact(pdm_tracking_run *run, const char *src_file,
                              const char *artifact_subpath, char *errstr, size_t errlen);

/* Ends the run: status (FINISHED, FAILED or KILLED) and end_time go to its
 * meta.yaml, replaced atomically. Once ended, a run accepts no more logs. */
int pdm_tracking_run_end(pdm_tracking_run *run, pdm_run_status status, char *errstr, size_t errlen);

/* Frees the handle; a run not ended yet is ended as FAILED first (best
 * effort), as MLflow does when the code inside a run raises. NULL is fine. */
void pdm_tracking_run_destroy(pdm_tracking_run *run);

/* MLflow's rule for param, metric and tag keys: 1..250 bytes of
 * alphanumerics, '_', '-', '.', ' ' and '/', and a path that stays what it
 * is when normalised (no leading or trailing '/', no "//", no "." or ".."
 * component, no leading ".."). Returns 0 if valid, else -1 with errstr. */
int pdm_tracking_key_validate(const char *key, char *errstr, size_t errlen);

#endif
