/* tail_format.h (internal to consumer/): pdm-tail's text form of the risk
 * topic (--format text), one line per event, for people watching a stream
 * (the demo):
 *
 * An incident (the lines are wrapped here: each is one line):
 *   2015-01-03 05:00  machine    3  OPENED      WARN      risk 0.0213  comp2
 *       incident 3-1420261200000  because ...
 *   2015-01-03 11:00  machine    3  ESCALATED   CRITICAL  risk 0.31  comp2  ...
 *   2015-01-04 08:00  machine    3  RESOLVED    failed after 27 h (lead time
 *       27 h)  peak 0.31 comp2  incident 3-1420261200000
 * A RiskEvent without incident (--emit changes, alerts, all), a silence:
 *   2015-01-03 03:00  machine    3  WARN        risk 0.0149  (most likely
 *       comp2 0.012)  because ...
 *   2015-01-05 02:00  machine    9  SILENT      last seen 2015-01-04 19:00
 *
 * The RiskEvent names its incident, its status and resolution, not which
 * notification a firing event is; the state machine's rules make that
 * derivable from the incident's events (pdm_alerts.h): an event at the
 * incident's opening time is its opening; an incident escalates once, from
 * WARN to CRITICAL, and every later firing event is a renotification (a
 * CRITICAL incident that fell back to WARN quietly, which is never sent,
 * and returns is renotified, not escalated again). So the formatter
 * remembers the highest level it saw each open incident notified at: a
 * CRITICAL event of one seen only at WARN is ESCALATED, anything else
 * RENOTIFIED. One it did not see open (it started later) prints FIRING
 * until it is known (a WARN event past the opening can only be a
 * renotification: RENOTIFIED).
 */
#ifndef PDM_TAIL_FORMAT_H
#define PDM_TAIL_FORMAT_H

#include "pdm_common.h"
#include "pdm_schemas.h"

typedef struct tail_incidents tail_incidents;

tail_incidents *tail_incidents_new(void); /* NULL out of memory */
void tail_incidents_destroy(tail_incidents *t);

/* What a RiskEvent of machine at ts says of its incident: "OPENED",
 * "ESCALATED", "RENOTIFIED", "FIRING" (seen first mid-incident) or
 * "RESOLVED"; NULL when it concerns no incident. Updates t. */
const char *tail_incident_kind(tail_incidents *t, int32_t machine, int64_t ts, const pdm_risk *r);

/* Appends ev's text line (with its newline) to out: RiskEvents and
 * MachineSilence events; returns 0, or 1 for another event type (nothing
 * appended: the caller prints it as JSON), -1 out of memory. */
int tail_format_text(tail_incidents *t, const pdm_event *ev, pdm_buf *out);

#endif
