/* disasm.h - a few instructions, formatted for humans (inspect --disasm). */
#ifndef CALLIRW_DISASM_H
#define CALLIRW_DISASM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"

/* Print every instruction of code[0..len) as "indent  addr:  bytes  text",
 * one per line. Undecodable bytes are printed as ".byte". */
void rw_disasm(FILE *f, enum rw_machine m, const uint8_t *code, size_t len, uint64_t addr,
               const char *indent);

#endif
