/* sites_a64_ok.S - arm64 Windows (clang + lld-link): one rewritable site
 * (cookie in x15, target in x12, blr through the helper's import), so that
 * make check-pe-write sees the image writer itself refuse an arm64 PE
 * image (no Windows arm64 stubs exist). */
    .text
    .globl site
    .p2align 2
site:
    stp x29, x30, [sp, #-16]!
    adrp x15, cookie
    add x15, x15, :lo12:cookie
    adrp x12, target
    add x12, x12, :lo12:target
    adrp x16, __imp_GenericPInvokeCalliHelper
    ldr x16, [x16, :lo12:__imp_GenericPInvokeCalliHelper]
    blr x16
    ldp x29, x30, [sp], #16
    ret
target:
    mov w0, #42
    ret

    .data
    .p2align 3
cookie:
    .long 0x494C4143    /* "CALI" */
    .short 1, 0         /* version, flags */
    .quad 0, 0          /* runtime, cache */
    .long 3             /* sig_len */
    .byte 1, 0, 8       /* C, 0 params, returns I4 */
