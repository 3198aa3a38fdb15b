/*
 * openapi.h — the OpenAPI document, generated from the module descriptors.
 */
#ifndef YJ_OPENAPI_H
#define YJ_OPENAPI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A new document (served at /api/v1/openapi.json). */
json_t *openapi_doc(void);

/* Read a route's .in or .out ("[STATUS ][MEDIA-TYPE ]SCHEMA", http.h):
 * *status (0 when not given), *media (default application/json; NULL with
 * no schema), *schema (NULL when none).  false when it does not read. */
bool openapi_body(const char *spec, int *status, char *media, size_t nmedia, json_t **schema);

#endif
