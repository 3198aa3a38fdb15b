/*
 * fuzz_gateway_callback.c — libFuzzer target for the gateway callback
 * (POST /api/v1/warnings/callback: callup_gateway_callback, warning/
 * deliver.c), database included.  Receipts, SMS replies and voice answers
 * arrive here in batches of up to 10,000 from the SMS, voice and push
 * gateways: outside input that changes who has answered a warning.
 *
 * The input is the request body, read as the API reads it
 * (http_json_parse).  The store is one SQLite file in a private temp
 * directory holding one published warning and six deliveries (numbers
 * 13900000001..6; 1-4 must answer, 5 a resident, 6 a loudspeaker), put
 * back as they were after every input.  Checks:
 *   - an error says what went wrong, and changes nothing: no delivery
 *     answered, no call-up event, no audit entry;
 *   - a success's "acked" is the number of deliveries newly answered, and
 *     every answer has its audit entry (entity "callup");
 *   - nothing that need not be answered is ever marked answered.
 */
#include "auth/auth.h"
#include "base/module.h"
#include "core/err.h"
#include "http/http.h"
#include "store/store.h"
#include "warning/warning.h"
#include "fuzz_db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DELIVERIES                                                                                 \
    "INSERT INTO delivery (id, warning_id, kind, ref_id, address, region_code, must_ack, plan,"    \
    " state, sent_at) VALUES"                                                                      \
    " (1, 1, 'responsible', 1, '13900000001', '140525100', 1, 'sms,voice', 'sent', 1000),"         \
    " (2, 1, 'responsible', 2, '13900000002', '140525100', 1, 'sms,voice', 'sent', 1000),"         \
    " (3, 1, 'contact', 3, '13900000003', '140525100', 1, 'sms,voice', 'sent', 1000),"             \
    " (4, 1, 'escalation', 4, '13900000001', '140525', 1, 'sms,voice', 'pending', NULL),"          \
    " (5, 1, 'resident', 5, '13900000005', '140525100', 0, 'sms', 'sent', 1000),"                  \
    " (6, 1, 'terminal', 6, 'yingji/v1/broadcast/T6', '140525100', 0, 'broadcast', 'sent', 1000)"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_open("fuzz-callback");
    fz_exec("INSERT INTO region (code, name, parent, level) VALUES"
            " ('14', '山西省', NULL, 1), ('1405', '晋城市', '14', 2),"
            " ('140525', '泽州县', '1405', 3), ('140525100', '南村镇', '140525', 4);"
            "INSERT INTO warning (id, state, event_type, category, level, urgency, certainty,"
            " headline, description, area_desc, area, region_code, expires, created_at,"
            " created_by, identifier, sender) VALUES (1, 'published', '暴雨', 'Met', 3,"
            " 'Expected', 'Likely', '暴雨黄色预警', '预计有大雨', '泽州县',"
            " '{\"regions\":[\"140525\"]}', '140525', 9000000000000, 0, 'duty',"
            " '14052500000000_20260101000000_0', '14052500000000');" DELIVERIES);
    return 0;
}

static void reset(void)
{
    fz_exec("DELETE FROM delivery; DELETE FROM callup_event; DELETE FROM audit;" DELIVERIES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = NULL;
    yj_err err = {0};
    if (http_json_parse((const char *)data, size, &in, &err) != YJ_OK)
        return 0; /* the API answers 400 before the callback sees it */
    int64_t acked0 = fz_count("SELECT COUNT(*) FROM delivery WHERE acked_at IS NOT NULL");
    json_t *out = NULL;
    yj_err_clear(&err);
    yj_code rc = callup_gateway_callback(store, in, &out, &err);
    int64_t acked = fz_count("SELECT COUNT(*) FROM delivery WHERE acked_at IS NOT NULL") - acked0;
    if (rc != YJ_OK) {
        if (err.code != rc || err.message[0] == '\0' || out != NULL)
            abort(); /* an error must say what went wrong */
        if (acked != 0 || fz_count("SELECT COUNT(*) FROM callup_event") != 0 ||
            fz_count("SELECT COUNT(*) FROM audit") != 0)
            abort(); /* a refused batch changed something */
    } else {
        if (!json_is_integer(json_object_get(out, "acked")) ||
            json_integer_value(json_object_get(out, "acked")) != acked)
            abort(); /* the answer does not match the table */
        if (acked > 0 && fz_count("SELECT COUNT(*) FROM audit WHERE entity = 'callup'") == 0)
            abort(); /* an answer recorded without its audit entry */
    }
    if (fz_count("SELECT COUNT(*) FROM delivery WHERE must_ack = 0 AND acked_at IS NOT NULL") != 0)
        abort(); /* a resident or a loudspeaker "answered" */
    json_decref(out);
    json_decref(in);
    reset();
    return 0;
}
