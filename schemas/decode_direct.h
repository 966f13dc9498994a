/* decode_direct.h (internal to schemas/): the Avro binary body of each
 * current schema version read straight into a pdm_event, with what
 * avro-c's generic reader and codec_decode.c's checks give for every body:
 * the same fields, strings and doubles (bit for bit), the same status and
 * message (test_decode_direct compares the two on random events, crafted
 * bodies, truncated and corrupted ones). avro-c's path allocates a copy of
 * every string and looks every field up by index; this one reads the bytes
 * where they are.
 *
 * The codec uses it for a message only when its writer schema (named by
 * the message's fingerprint or schema id) is the version this file reads:
 * pdm_direct_fingerprint, the same rule as the direct encoder's. Earlier
 * versions (a version 1 RiskEvent) and any schema change go through avro-c. */
#ifndef PDM_DECODE_DIRECT_H
#define PDM_DECODE_DIRECT_H

#include <stddef.h>

#include "pdm_schemas.h"

/* The body[0..len) of a type-t message (no header) into *out; a RiskEvent's
 * fields go to *risk, which out->u.risk then points at. The codec has run
 * its validator on the body first (every length, count, union branch and
 * enum index in range, no bytes after it): the statuses that validator
 * gives (truncated, malformed, an enum index outside its symbols) are its
 * to give. This reader stays bounds-safe on any bytes anyway, and a body it
 * cannot read is PDM_DECODE_MALFORMED. Returns PDM_DECODE_OK or a negative
 * pdm_decode_status, with errstr. */
int pdm_direct_decode(pdm_event_type t, const unsigned char *body, size_t len, pdm_event *out,
                      pdm_risk *risk, char *errstr, size_t errlen);

#endif
