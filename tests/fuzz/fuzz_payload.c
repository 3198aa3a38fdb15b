/*
 * fuzz_payload.c — libFuzzer target for the reading payload decoder
 * (monitor/payload.c), which every MQTT message and gateway POST goes
 * through.
 *
 * Byte 0 chooses whether a topic sensor is supplied (as MQTT does for
 * yingji/v1/<region>/<object>/<sensor>); the rest is the payload.  Checks:
 * the decoder either refuses the whole payload with a parse-class error and
 * no readings, or returns readings each of which is either marked bad with
 * a reason or carries a non-empty, NUL-terminated sensor code and a
 * positive timestamp.
 */
#include "monitor/monitor.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *topic = (data[0] & 1) ? "CH4-0001" : NULL;
    mon_reading *r = NULL;
    size_t n = 0;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = mon_payload_decode((const char *)data + 1, size - 1, topic, &r, &n, &err);
    if (rc != YJ_OK) {
        if (r != NULL || n != 0 || err.message[0] == '\0')
            abort();
        if (rc != YJ_EPARSE && rc != YJ_ETOOBIG)
            abort();
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const mon_reading *x = &r[i];
        if (memchr(x->sensor, '\0', sizeof x->sensor) == NULL ||
            memchr(x->detail, '\0', sizeof x->detail) == NULL)
            abort();
        if (x->bad) {
            if (x->detail[0] == '\0' || x->reject != MON_REJ_MALFORMED)
                abort();
        } else if (x->sensor[0] == '\0' || x->ts <= 0) {
            abort();
        }
    }
    free(r);
    return 0;
}
