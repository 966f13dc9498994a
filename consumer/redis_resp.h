/* redis_resp.h (internal to consumer/): a command in Redis's wire form
 * (RESP: "*<argc>\r\n" then "$<len>\r\n<arg>\r\n" per argument), written
 * into a caller's buffer. hiredis's redisAppendCommandArgv does the same
 * through a fresh sds string and a printf-like format per command; the
 * state writes send two or three commands per event, so the scorer formats
 * them itself and hands hiredis the bytes (redisAppendFormattedCommand). */
#ifndef PDM_REDIS_RESP_H
#define PDM_REDIS_RESP_H

#include <stddef.h>

/* The command's length in RESP, or 0 when it does not fit in cap bytes
 * (out then holds nothing useful). lens NULL: the arguments are C strings
 * (as hiredis's argvlen NULL). */
size_t pdm_resp_format(int argc, const char **argv, const size_t *lens, char *out, size_t cap);

#endif
