/* bench-codec: how many events per second the Avro codec encodes and
 * decodes, for the input it sees most (TelemetryEvent) and the output it
 * writes (RiskEvent with three reasons). One codec, one thread, as the
 * scorer uses it; each figure is the median of --runs runs of --count
 * messages, so a noisy neighbour moves it less than a mean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_schemas.h"
#include "bench_util.h"

typedef struct {
    long long count;
    long long runs;
} bench_options;

#define O(f) offsetof(bench_options, f)
static const pdm_option options[] = {
    {"count", 'n', NULL, PDM_OPT_INT, O(count), "500000", "N", "Messages per run.", 0},
    {"runs", 'r', NULL, PDM_OPT_INT, O(runs), "5", "N", "Runs per figure; the median is printed.",
     0},
    PDM_OPTIONS_END,
};


static void make_events(pdm_event *tele, pdm_event *risk_ev, pdm_risk *risk)
{
    memset(tele, 0, sizeof *tele);
    tele->type = PDM_EV_TELEMETRY;
    tele->machine_id = 17;
    tele->ts = INT64_C(1420070400000);
    tele->u.telemetry.volt = 176.217853015625;
    tele->u.telemetry.rotate = 418.504078221616;
    tele->u.telemetry.pressure = 113.077935462083;
    tele->u.telemetry.vibration = 45.0876857639276;

    memset(risk, 0, sizeof *risk);
    snprintf(risk->event_id, sizeof risk->event_id, "17-1420070400000-3f2a9c1d0b7e");
    snprintf(risk->model_version, sizeof risk->model_version, "3f2a9c1d0b7e");
    risk->scored_at = INT64_C(1764400000000);
    risk->risk = 0.8125;
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        risk->component_prob[k] = 0.05 * (k + 1);
    risk->level = PDM_LEVEL_CRITICAL;
    risk->n_reasons = PDM_N_REASONS;
    for (int k = 0; k < PDM_N_REASONS; k++) {
        snprintf(risk->reasons[k].feature, sizeof risk->reasons[k].feature, "vibration_mean_24h_%d",
                 k);
        risk->reasons[k].value = 40.0 + k;
        risk->reasons[k].contribution = 0.9 - 0.3 * k;
    }
    pdm_risk_no_incident(risk); /* as the scorer emits until incidents are wired */
    memset(risk_ev, 0, sizeof *risk_ev);
    risk_ev->type = PDM_EV_RISK;
    risk_ev->machine_id = 17;
    risk_ev->ts = tele->ts;
    risk_ev->u.risk = risk;
}

/* Messages per second of one run; -1 on a codec error. */
static double run_encode(pdm_codec *c, const pdm_event *ev, long long n)
{
    char buf[PDM_MAX_ENCODED], err[PDM_ERRSTR_SIZE];
    double t0 = pdm_monotonic_s();
    for (long long i = 0; i < n; i++)
        if (pdm_codec_encode(c, ev, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err) < 0) {
            fprintf(stderr, "bench-codec: encode: %s\n", err);
            return -1;
        }
    return (double)n / (pdm_monotonic_s() - t0);
}

static double run_decode(pdm_codec *c, const void *msg, size_t len, long long n)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_event out;
    double t0 = pdm_monotonic_s();
    for (long long i = 0; i < n; i++)
        if (pdm_codec_decode(c, msg, len, &out, err, sizeof err) != PDM_DECODE_OK) {
            fprintf(stderr, "bench-codec: decode: %s\n", err);
            return -1;
        }
    return (double)n / (pdm_monotonic_s() - t0);
}

int main(int argc, char **argv)
{
    bench_options o = {0};
    char err[PDM_ERRSTR_SIZE];
    int npos = 0, help = 0, rc = 1;
    pdm_codec *c = NULL;
    double *rates = NULL;
    if (pdm_options_parse(options, &o, argc, argv, &npos, &help, err, sizeof err)) {
        fprintf(stderr, "bench-codec: %s\n", err);
        rc = 2;
        goto out;
    }
    if (help || npos > 0 || o.count < 1 || o.runs < 1 || o.runs > 1000) {
        pdm_options_help(help ? stdout : stderr, "usage: bench-codec [--count N] [--runs N]",
                         options);
        rc = help ? 0 : 2;
        goto out;
    }
    c = pdm_codec_new(err, sizeof err);
    rates = calloc((size_t)o.runs, sizeof *rates);
    if (!c || !rates) {
        fprintf(stderr, "bench-codec: %s\n", c ? "out of memory" : err);
        goto out;
    }
    pdm_event tele, risk_ev;
    pdm_risk risk;
    make_events(&tele, &risk_ev, &risk);
    const pdm_event *events[] = {&tele, &risk_ev};
    printf("codec, one thread, single-object framing, median of %lld runs of %lld messages\n",
           o.runs, o.count);
    for (int e = 0; e < 2; e++) {
        char msg[PDM_MAX_ENCODED];
        int len = pdm_codec_encode(c, events[e], PDM_WIRE_SINGLE_OBJECT, msg, sizeof msg, err,
                                   sizeof err);
        if (len < 0) {
            fprintf(stderr, "bench-codec: %s\n", err);
            goto out;
        }
        for (int op = 0; op < 2; op++) {
            for (long long r = 0; r < o.runs; r++) {
                rates[r] = op == 0 ? run_encode(c, events[e], o.count)
                                   : run_decode(c, msg, (size_t)len, o.count);
                if (rates[r] < 0)
                    goto out;
            }
            double lo = rates[0], hi = rates[0];
            for (long long r = 1; r < o.runs; r++) {
                lo = rates[r] < lo ? rates[r] : lo;
                hi = rates[r] > hi ? rates[r] : hi;
            }
            double m = bench_median(rates, (int)o.runs);
            printf("%-9s %-6s %4d bytes  %10.0f msgs/s  (%.2f us/msg; runs %.0f..%.0f)\n",
                   pdm_event_type_name(events[e]->type), op == 0 ? "encode" : "decode", len, m,
                   1e6 / m, lo, hi);
        }
    }
    rc = 0;
out:
    free(rates);
    pdm_codec_destroy(c);
    pdm_options_free(options, &o);
    return rc;
}
