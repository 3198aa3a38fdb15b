/*
 * api.h — the monitoring module's HTTP handlers and commands (private to
 * src/monitor; the route table is in module.c).
 */
#ifndef YJ_MONITOR_API_H
#define YJ_MONITOR_API_H

#include "../http/http.h"

void api_readings_post(yj_req *, yj_resp *);
void api_sensors_latest(yj_req *, yj_resp *);
void api_sensor_history(yj_req *, yj_resp *);
void api_rejects(yj_req *, yj_resp *);
void api_rules_list(yj_req *, yj_resp *);
void api_rules_create(yj_req *, yj_resp *);
void api_rules_update(yj_req *, yj_resp *);
void api_rules_delete(yj_req *, yj_resp *);
void api_maintenance_add(yj_req *, yj_resp *);
void api_alarms_list(yj_req *, yj_resp *);
void api_alarm_get(yj_req *, yj_resp *);
void api_alarm_act(yj_req *, yj_resp *);
void api_workorders_list(yj_req *, yj_resp *);
void api_workorder_get(yj_req *, yj_resp *);
void api_workorder_act(yj_req *, yj_resp *);
void api_inbox(yj_req *, yj_resp *);
void api_inbox_read(yj_req *, yj_resp *);
void api_health(yj_req *, yj_resp *);
void api_map(yj_req *, yj_resp *);
void api_gateway_create(yj_req *, yj_resp *);
void api_groups_list(yj_req *, yj_resp *);
void api_groups_create(yj_req *, yj_resp *);

/* cli.c: yingji ingest-kj, yingji simulate */
int cmd_ingest_kj(int argc, char **argv);
int cmd_simulate(int argc, char **argv);

#endif
