/* pdm-sim: writes a simulated fleet as the five PdM CSV files, in the public
 * data set's exact format, into a directory (see pdm_sim_write_csv). The
 * same seed and parameters give byte-identical files on any platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"

typedef struct {
    long long machines;
    long long hours;
    char *start;
    long long seed;
    char *out;
    char *difficulty;
    char *shift;
    double churn;
    char *log_level;
} sim_cfg;

static const pdm_option options[] = {
    {"machines", 'm', "PDM_SIM_MACHINES", PDM_OPT_INT, offsetof(sim_cfg, machines), "100", "N",
     "Fleet size; machine ids 1..N.", 0},
    {"hours", 'H', "PDM_SIM_HOURS", PDM_OPT_INT, offsetof(sim_cfg, hours), "8760", "H",
     "Hours of telemetry per machine (8760 = one year).", 0},
    {"start", 's', "PDM_SIM_START", PDM_OPT_STRING, offsetof(sim_cfg, start), "2015-01-01 06:00:00",
     "TIME", "First telemetry hour, UTC: YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\" on a whole hour.",
     0},
    {"seed", 0, "PDM_SIM_SEED", PDM_OPT_INT, offsetof(sim_cfg, seed), "1", "S",
     "Random seed; the same seed gives the same files.", 0},
    {"out", 'o', "PDM_SIM_OUT", PDM_OPT_STRING, offsetof(sim_cfg, out), NULL, "DIR",
     "Directory to write PdM_telemetry.csv, PdM_errors.csv, PdM_maint.csv, "
     "PdM_failures.csv and PdM_machines.csv into (created if needed). Required.",
     0},
    {"difficulty", 0, "PDM_SIM_DIFFICULTY", PDM_OPT_STRING, offsetof(sim_cfg, difficulty),
     "realistic", "LEVEL",
     "realistic: calibrated against the public data (every failure shifts its component's "
     "signal over the 48 h before it, most raise a related error 24 h before; a model reaches "
     "a macro F1 above 0.8); hard: weak, noisy precursors and drifts that lead to nothing, the "
     "fleet of earlier versions, same output for the same seed (macro F1 about 0.3).",
     0},
    {"shift", 0, "PDM_SIM_SHIFT", PDM_OPT_STRING, offsetof(sim_cfg, shift), NULL,
     "AT:SIGNAL:AMOUNT[@MACHINES],...",
     "Regime changes (a sensor recalibration, a new firmware): from UTC time AT on, SIGNAL "
     "(volt, rotate, pressure, vibration) reads AMOUNT more (+N, -N in its units) or times "
     "AMOUNT (xF), on MACHINES (A-B, N or P% of the fleet; default all). Up to 8, separated "
     "by commas, e.g. \"2015-04-01:vibration:x1.2@50%,2015-05-01 12:00:00:volt:+8\".",
     0},
    {"churn", 0, "PDM_SIM_CHURN", PDM_OPT_DOUBLE, offsetof(sim_cfg, churn), "0", "SHARE",
     "Machines that join and leave: each machine with probability SHARE joins at a random hour "
     "of the first half (before that only its maintenance exists) and, independently, leaves "
     "at a random hour of the second half (nothing of it after). 0: the whole fleet all along.",
     0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, offsetof(sim_cfg, log_level), "info", "LEVEL",
     "debug, info, warn or error.", 0},
    PDM_OPTIONS_END,
};

static const char usage[] =
    "Usage: pdm-sim --out DIR [options]\n"
    "Simulates a fleet of machines (telemetry, errors, maintenance, failures with precursors)\n"
    "and writes it in the format of the public Azure predictive maintenance data set.";

int main(int argc, char **argv)
{
    int rc = 1;
    char errstr[PDM_ERRSTR_SIZE];
    sim_cfg cfg = {0};
    pdm_sim_params params;

    const pdm_program program = {"pdm-sim", usage, options, 0, offsetof(sim_cfg, log_level)};
    if (pdm_program_start(&program, &cfg, argc, argv, NULL, &rc))
        goto out;
    if (!cfg.out || !*cfg.out) {
        fprintf(stderr, "pdm-sim: --out DIR is required (see --help)\n");
        rc = 2;
        goto out;
    }
    pdm_sim_params_init(&params);
    if (cfg.machines < 1 || cfg.machines > PDM_SIM_MAX_MACHINES) {
        fprintf(stderr, "pdm-sim: --machines must be 1..%d\n", PDM_SIM_MAX_MACHINES);
        rc = 2;
        goto out;
    }
    params.machines = (int)cfg.machines;
    params.hours = cfg.hours;
    params.seed = (uint64_t)cfg.seed;
    if (pdm_sim_difficulty_parse(cfg.difficulty, &params.difficulty)) {
        fprintf(stderr, "pdm-sim: --difficulty must be realistic or hard, got '%s'\n",
                cfg.difficulty);
        rc = 2;
        goto out;
    }
    params.churn = cfg.churn;
    if (pdm_sim_shifts_parse(cfg.shift, &params, errstr, sizeof errstr)) {
        fprintf(stderr, "pdm-sim: %s\n", errstr);
        rc = 2;
        goto out;
    }
    if (pdm_time_parse(cfg.start, strlen(cfg.start), &params.start_ms)) {
        fprintf(stderr, "pdm-sim: --start is not a UTC date or time: '%s'\n", cfg.start);
        rc = 2;
        goto out;
    }
    if (pdm_sim_params_check(&params, errstr, sizeof errstr)) {
        fprintf(stderr, "pdm-sim: %s\n", errstr);
        rc = 2;
        goto out;
    }
    double t0 = pdm_monotonic_s();
    if (pdm_sim_write_csv(&params, cfg.out, errstr, sizeof errstr)) {
        pdm_log(PDM_LOG_ERROR, "%s", errstr);
        goto out;
    }
    pdm_log(PDM_LOG_INFO, "wrote %d machines x %lld hours (seed %lld, %s) to %s in %.2f s",
            params.machines, (long long)params.hours, cfg.seed,
            pdm_sim_difficulty_name(params.difficulty), cfg.out, pdm_monotonic_s() - t0);
    rc = 0;
out:
    pdm_options_free(options, &cfg);
    return rc;
}
