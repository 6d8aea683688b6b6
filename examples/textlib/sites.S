/* textlib/sites.S - legacy call sites into libc's string and character
 * functions, through the generic helper. Signature bytes are ECMA-335:
 * 0x09 unmanaged, then the parameter count, the return type, the parameters.
 * 0x0E string, 0x19 nuint, 0x08 int32, 0x02 bool, 0x03 char16. */
    .intel_syntax noprefix
#include "../calli_x86_64.inc"

/* nuint strlen(string) */
COOKIE ck_strlen, 0, calli_refrt_default, 0x09, 1, 0x19, 0x0E
/* int32 puts(string) */
COOKIE ck_puts, 0, calli_refrt_default, 0x09, 1, 0x08, 0x0E
/* int32 strcmp(string, string) */
COOKIE ck_strcmp, 0, calli_refrt_default, 0x01, 2, 0x08, 0x0E, 0x0E
/* bool isalpha(int32): glibc answers 0 or 1024; BOOL marshaling makes it 0/1 */
COOKIE ck_isalpha, 1, 0, 0x09, 1, 0x02, 0x08
/* char16 towupper(char16), suppress-gc */
COOKIE ck_towupper, 1, 0, 0x09, 1, 0x03, 0x03

CALLI_SITE m_strlen, strlen, ck_strlen
CALLI_SITE m_puts, puts, ck_puts
CALLI_SITE m_strcmp, strcmp, ck_strcmp
CALLI_SITE m_isalpha, isalpha, ck_isalpha
CALLI_SITE m_towupper, towupper, ck_towupper

    .section .note.GNU-stack, "", @progbits
