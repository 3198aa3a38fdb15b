/*
 * openapi.h — the OpenAPI document, generated from the module descriptors.
 */
#ifndef YJ_OPENAPI_H
#define YJ_OPENAPI_H

#include <jansson.h>

/* A new document (served at /api/v1/openapi.json). */
json_t *openapi_doc(void);

#endif
