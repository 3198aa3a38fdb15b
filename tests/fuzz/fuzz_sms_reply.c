/*
 * fuzz_sms_reply.c — libFuzzer target for the SMS-reply reader
 * (callup_reply_says_yes, warning/deliver.c): whether a reply to a warning
 * counts as the recipient's answer (叫应).  Anyone can text the gateway's
 * number, so the text is outside input.
 *
 * Checks, besides no crash, leak or undefined behaviour on any bytes:
 *   - a reply with a negation (不 未 没 否 无法 no) never counts: "未收到"
 *     must not pass for "收到";
 *   - a reply that starts (after blanks) with "1" not followed by a digit
 *     always counts, unless it carries a negation;
 *   - the answer depends on the text alone (asked twice, the same).
 */
#include "warning/deliver.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (t == NULL)
        return 0;
    memcpy(t, data, size);
    t[size] = '\0'; /* a reply is text: what comes after a NUL is not read */
    bool yes = callup_reply_says_yes(t);
    if (yes != callup_reply_says_yes(t))
        abort();
    static const char *const no[] = {"不", "未", "没", "否", "无法", "NO", "No", "no"};
    bool negated = false;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        negated = negated || strstr(t, no[i]) != NULL;
    if (negated && yes)
        abort();
    const char *p = t + strspn(t, " \t\r\n");
    if (!negated && p[0] == '1' && !(p[1] >= '0' && p[1] <= '9') && !yes)
        abort();
    if (callup_reply_says_yes(NULL))
        abort();
    free(t);
    return 0;
}
