/* pdm_dataset.h: the PdM CSV dataset, loaded or simulated, as pdm_events.
 *
 * The public "Azure predictive maintenance" (PdM) data set is five CSV files
 * in one directory:
 *   PdM_telemetry.csv  datetime,machineID,volt,rotate,pressure,vibration
 *   PdM_errors.csv     datetime,machineID,errorID   (error1..error5)
 *   PdM_maint.csv      datetime,machineID,comp      (comp1..comp4)
 *   PdM_failures.csv   datetime,machineID,failure   (comp1..comp4)
 *   PdM_machines.csv   machineID,model,age          (model1..model4, years)
 * with timestamps "YYYY-MM-DD HH:MM:SS" in UTC.
 *
 * The loader turns them into one array of events in REPLAY ORDER: by ts;
 * at equal ts by type (machine info, maintenance, errors, failures,
 * telemetry); then by machine_id; then by order in the file. Machine info
 * events carry the earliest timestamp of the data set so that they come
 * first. Replaying the array in order is what a live feed would have sent.
 *
 * The simulator generates a synthetic fleet in the same shape (same files,
 * same number formatting) with failure precursors a model can learn, either
 * event by event in replay order (for a live producer) or as the CSV files.
 */
#ifndef PDM_DATASET_H
#define PDM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_schemas.h"

/* ---- files -------------------------------------------------------------- */

typedef enum {
    PDM_FILE_TELEMETRY = 0,
    PDM_FILE_ERRORS,
    PDM_FILE_MAINT,
    PDM_FILE_FAILURES,
    PDM_FILE_MACHINES,
    PDM_FILE_COUNT
} pdm_dataset_file;

/* "PdM_telemetry.csv", ... */
const char *pdm_dataset_file_name(pdm_dataset_file f);
/* Its header line without line end, e.g. "datetime,machineID,errorID". */
const char *pdm_dataset_file_header(pdm_dataset_file f);
/* The event type a file's rows become. */
pdm_event_type pdm_dataset_file_event_type(pdm_dataset_file f);

/* Highest model number the data may name (model1..model4). */
#define PDM_DATASET_MAX_MODEL 4

/* ---- loader ------------------------------------------------------------- */

typedef struct {
    /* Count and skip malformed rows instead of failing on the first one. */
    int skip_bad_rows;
    /* Fail when PdM_machines.csv is absent. By default it is optional (the
     * data set then has no machine info events); the other four files are
     * always required. */
    int require_machines;
} pdm_dataset_options;

#define PDM_DATASET_MAX_REASONS 10
#define PDM_DATASET_REASON_SIZE 192

typedef struct {
    int present;       /* the file was read (only PdM_machines.csv may be absent) */
    size_t rows_read;  /* data lines, header and trailing blank lines excluded */
    size_t rows_kept;  /* events made from this file */
    size_t bad_rows;   /* skipped as malformed (only with skip_bad_rows) */
    size_t duplicates; /* dropped as duplicates */
    /* Some machine's rows went back in time in file order; they were sorted. */
    int was_unsorted;
} pdm_dataset_file_stats;

typedef struct {
    pdm_dataset_file_stats files[PDM_FILE_COUNT];
    size_t bad_rows;   /* over all files */
    size_t duplicates; /* over all files */
    /* The first bad rows' reasons, "PdM_telemetry.csv:1234: volt is not a
     * number: \"abc\"", in the order the files were read. */
    int n_reasons;
    char reasons[PDM_DATASET_MAX_REASONS][PDM_DATASET_REASON_SIZE];
} pdm_dataset_stats;

typedef struct pdm_dataset pdm_dataset;

/* Reads the five files from dir. opts may be NULL (defaults). On success
 * *out owns the data; on failure returns -1 with a message naming the file
 * and, for a bad row, the line: "PdM_errors.csv:12: errorID is not
 * error1..error5: \"error9\"". CRLF line ends, a UTF-8 byte order mark, a
 * trailing blank line and fields in double quotes are accepted.
 * Duplicates are dropped and counted: telemetry with the same ts and machine
 * (the later row is kept); errors, maintenance and failures with the same
 * ts, machine and name (the first is kept); machine rows with the same
 * machine (the later is kept). */
int pdm_dataset_load(const char *dir, const pdm_dataset_options *opts, pdm_dataset **out,
                     char *errstr, size_t errlen);
void pdm_dataset_destroy(pdm_dataset *ds);

/* All events in replay order; the array lives as long as ds. */
const pdm_event *pdm_dataset_events(const pdm_dataset *ds, size_t *count);
/* The events of one type, in replay order. */
const pdm_event *pdm_dataset_events_of_type(const pdm_dataset *ds, pdm_event_type type,
                                            size_t *count);
/* First and last telemetry timestamps. Returns 0, or -1 if there is no telemetry. */
int pdm_dataset_telemetry_range(const pdm_dataset *ds, int64_t *first, int64_t *last);
const pdm_dataset_stats *pdm_dataset_get_stats(const pdm_dataset *ds);
/* One line for logs: rows per file, and bad rows, duplicates and sorted
 * files when there were any. Returns the length snprintf would return. */
int pdm_dataset_summary(const pdm_dataset *ds, char *buf, size_t len);

/* ---- simulator ---------------------------------------------------------- */

/* How hard the fleet's failures are to foresee. REALISTIC (the default) is
 * calibrated against the public data: every failure shifts its component's
 * signal over the 48 h before it and most raise a related error exactly 24 h
 * before (a model reaches a macro F1 above 0.8, as on the public data).
 * HARD is the simulator before that calibration, kept unchanged: drifts that
 * ramp up over 24-72 h, one failure in five with a weak or no precursor,
 * drifts that lead to nothing (macro F1 about 0.3). */
typedef enum { PDM_SIM_REALISTIC = 0, PDM_SIM_HARD } pdm_sim_difficulty;

/* "realistic" or "hard". */
const char *pdm_sim_difficulty_name(pdm_sim_difficulty d);
/* Returns 0 with *out set, or -1 if s names no difficulty. */
int pdm_sim_difficulty_parse(const char *s, pdm_sim_difficulty *out);

/* A regime change (pdm-sim --shift): from at_ms on, signal s of the chosen
 * machines reads value * scale + offset (a sensor recalibration, a new
 * firmware). Machines: ids first..last (both 0: all), or, with share > 0, each
 * machine with that probability (drawn from the seed). */
typedef struct {
    int64_t at_ms;
    int signal; /* 0 volt, 1 rotate, 2 pressure, 3 vibration */
    double scale, offset;
    int32_t first_machine, last_machine;
    double share;
} pdm_sim_shift;

#define PDM_SIM_MAX_SHIFTS 8

typedef struct {
    int machines;     /* fleet size, machine ids 1..machines */
    int64_t hours;    /* telemetry hours per machine */
    int64_t start_ms; /* first telemetry hour, ms UTC, a whole hour */
    uint64_t seed;    /* same seed and parameters, same data on every platform */
    pdm_sim_difficulty difficulty;
    pdm_sim_shift shifts[PDM_SIM_MAX_SHIFTS];
    int n_shifts;
    /* Machines that join and leave (pdm-sim --churn): with this probability
     * a machine joins at a random hour of the first half (before, only its
     * maintenance exists), and independently leaves at a random hour of the
     * second half (nothing of it after). 0: the whole fleet all along. */
    double churn;
} pdm_sim_params;

/* Parses pdm-sim's --shift: shifts separated by ',', each
 * AT:SIGNAL:AMOUNT[@MACHINES] with AT a UTC time ("YYYY-MM-DD[ HH:MM:SS]"),
 * SIGNAL volt|rotate|pressure|vibration, AMOUNT +N or -N (an offset in the
 * signal's units) or xF (a factor), MACHINES A-B (ids), N (one id) or P% (a
 * share of the fleet); without it all machines. Appends to p->shifts.
 * Returns 0, or -1 with errstr naming the bad part (p unchanged). */
int pdm_sim_shifts_parse(const char *spec, pdm_sim_params *p, char *errstr, size_t errlen);

/* PDM_SIM_MAX_* bound the parameters (memory grows with machines x hours). */
#define PDM_SIM_MAX_MACHINES 100000
#define PDM_SIM_MAX_HOURS (INT64_C(24) * 366 * 50)

/* Defaults: 100 machines, 8,760 hours from 2015-01-01 06:00:00, seed 1,
 * realistic. */
void pdm_sim_params_init(pdm_sim_params *p);
/* Returns 0 if p is usable, else -1 with errstr naming the bad parameter. */
int pdm_sim_params_check(const pdm_sim_params *p, char *errstr, size_t errlen);

typedef struct pdm_sim pdm_sim;

/* Plans the whole fleet (machines, maintenance, failures, errors and their
 * precursors); telemetry is generated as it is read. Returns NULL with
 * errstr on bad parameters or out of memory. */
pdm_sim *pdm_sim_new(const pdm_sim_params *p, char *errstr, size_t errlen);
void pdm_sim_destroy(pdm_sim *sim);
/* The next event in replay order: machine info, then the maintenance that
 * installed the components in service at the start (before start_ms), then
 * hour by hour. Returns 1 with *out filled, 0 when the data set is done. */
int pdm_sim_next(pdm_sim *sim, pdm_event *out);
/* Writes the five CSV files of the simulated data set into dir (created if
 * needed), each under a temporary name first and renamed when all are
 * complete, so that dir never holds a partial data set. Loading them gives
 * exactly the events pdm_sim_next yields. */
int pdm_sim_write_csv(const pdm_sim_params *p, const char *dir, char *errstr, size_t errlen);

#endif
