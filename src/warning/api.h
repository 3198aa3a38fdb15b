/*
 * api.h — the warning module's HTTP handlers and commands (private to
 * src/warning; the route table is in module.c).
 */
#ifndef YJ_WARNING_API_H
#define YJ_WARNING_API_H

#include "../http/http.h"

void api_warnings_list(yj_req *, yj_resp *);
void api_warnings_create(yj_req *, yj_resp *);
void api_warnings_import(yj_req *, yj_resp *);
void api_warning_get(yj_req *, yj_resp *);
void api_warning_update(yj_req *, yj_resp *);
void api_warning_act(yj_req *, yj_resp *);
void api_warning_cap(yj_req *, yj_resp *);
void api_alarm_to_warning(yj_req *, yj_resp *);
void api_public_warnings(yj_req *, yj_resp *);
void api_feed_atom(yj_req *, yj_resp *);
void api_feed_cap(yj_req *, yj_resp *);
void api_warning_targets(yj_req *, yj_resp *);
void api_warning_deliveries(yj_req *, yj_resp *);
void api_warning_callup(yj_req *, yj_resp *);
void api_warning_coverage(yj_req *, yj_resp *);
void api_delivery_ack(yj_req *, yj_resp *);
void api_delivery_attempts(yj_req *, yj_resp *);
void api_gateway_callback(yj_req *, yj_resp *);
void api_public_ack_get(yj_req *, yj_resp *);
void api_public_ack_post(yj_req *, yj_resp *);

/* cli.c: yingji cap validate, yingji gateway-sim */
int cmd_cap(int argc, char **argv);
int cmd_gateway_sim(int argc, char **argv);

#endif
