/*
 * fuzz_cap.c — libFuzzer target for the CAP reader (warning/cap.c), which
 * every imported warning goes through.
 *
 * Byte 0: bit 0 asks for the GB/T 35965.1 profile; the rest is the message.
 * Checks: a refusal names an element and a rule and returns no alert; an
 * accepted alert passes cap_check again, is written as CAP 1.2 and that
 * text reads back as an accepted alert with the same identifier, sender,
 * number of infos and areas (older versions are written as 1.2, whose
 * schema they may not meet; only 1.2 input is held to the round trip).
 */
#include "warning/cap.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned flags = (data[0] & 1) ? CAP_PROFILE_GBT35965 : 0;
    cap_alert *a = NULL;
    yj_err err;
    yj_err_clear(&err);
    yj_code rc = cap_read((const char *)data + 1, size - 1, flags, &a, &err);
    if (rc != YJ_OK) {
        if (a != NULL || err.message[0] == '\0' || err.field[0] == '\0')
            abort();
        return 0;
    }
    if (a == NULL || cap_check(a, flags, &err) != YJ_OK)
        abort();
    if (a->version == 12) {
        yj_buf b;
        yj_buf_init(&b);
        cap_write(a, &b);
        cap_alert *r = NULL;
        if (cap_read(b.data, b.len, flags, &r, &err) != YJ_OK)
            abort();
        if (strcmp(r->identifier, a->identifier) != 0 || strcmp(r->sender, a->sender) != 0 ||
            r->ninfos != a->ninfos)
            abort();
        for (size_t i = 0; i < a->ninfos; i++)
            if (r->infos[i].nareas != a->infos[i].nareas)
                abort();
        cap_alert_free(r);
        yj_buf_free(&b);
    }
    cap_alert_free(a);
    return 0;
}
