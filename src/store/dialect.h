/*
 * dialect.h — the portable SQL of the modules said in PostgreSQL (dialect.c).
 */
#ifndef YJ_STORE_DIALECT_H
#define YJ_STORE_DIALECT_H

/* The statement (or script) for PostgreSQL: `$n` placeholders and the
 * PostgreSQL names of the portable types.  *nparams_out: the highest
 * placeholder number.  The caller frees the result. */
char *yj_pg_translate(const char *sql, int *nparams_out);

/* The statement for SQLite: our own yj_ words said in SQLite's; NULL when
 * there is nothing to say differently (the common case). */
char *yj_sqlite_translate(const char *sql);

#endif
