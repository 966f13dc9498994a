/* encode_direct.h (internal to schemas/): the Avro binary body of each
 * event type written straight from the C structs, byte for byte what
 * avro-c's generic value writer gives for the schema versions it was
 * written for (test_schemas compares the two on every type and edge case).
 * avro-c's path costs more than scoring a row with a 1,000-tree model
 * (field lookups, string copies, one allocation per array item); this one
 * is a few stores.
 *
 * The codec uses it for a type only while that type's writer schema has
 * the fingerprint below: a schema change falls back to avro-c (correct,
 * slower) until this file is updated, and test_schemas fails until then. */
#ifndef PDM_ENCODE_DIRECT_H
#define PDM_ENCODE_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_schemas.h"

/* The writer-schema fingerprints (CRC-64-AVRO of the canonical form) the
 * direct encoder implements, per pdm_event_type; 0: none. */
uint64_t pdm_direct_fingerprint(pdm_event_type t);

/* ev's body (no header) into out[0..cap): its length, or -1 when it does
 * not fit or a string field is too long for the generic path too (127
 * bytes; see codec_encode.c's set_str). The caller has checked valid_names. */
int pdm_direct_encode(const pdm_event *ev, unsigned char *out, size_t cap);

/* Whether codec encodes type t directly (its writer schema is the one
 * implemented) and decodes messages of that schema directly
 * (decode_direct.h), and, for tests, turning both direct paths off (0) or
 * back on where they apply (1). Implemented in codec.c. */
struct pdm_codec;
int pdm_codec_direct(const struct pdm_codec *c, pdm_event_type t);
void pdm_codec_use_direct(struct pdm_codec *c, int on);

#endif
