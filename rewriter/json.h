/* json.h - the one JSON string writer every command and back-end uses. */
#ifndef CALLIRW_JSON_H
#define CALLIRW_JSON_H

#include <stdio.h>

/* s as a JSON string literal (NULL as ""). The output is always valid JSON,
 * whatever the bytes: '"' and '\\' and \n, \r, \t are escaped by name, other
 * control characters and DEL as \u00XX; well-formed UTF-8 sequences pass
 * through; every byte of an ill-formed sequence (names in hostile files) is
 * written as \u00XX, i.e. read back as the Latin-1 character of that byte. */
void rw_json_str(FILE *f, const char *s);

#endif
