/* asm_sym.h - what differs between the ELF and Mach-O builds of the
 * assembly helpers (runtime/helper_x86_64_sysv.S, runtime/helper_aarch64.S;
 * one source each, so a fix is made once):
 *  - C symbol names: Mach-O's carry a leading underscore (CSYM);
 *  - FUNC_BEGIN / FUNC_END: .type and .size on ELF, nothing on Mach-O;
 *  - HIDDEN: .hidden (ELF) or .private_extern (Mach-O);
 *  - ELF_ONLY(...): epilogue CFI, endbr64. On Mach-O the assembler turns a
 *    function's CFI into a compact unwind entry, which describes the body;
 *    epilogue CFI would force a DWARF entry instead. macOS has no IBT, so no
 *    endbr64 either.
 * Only for .S files (the C preprocessor's ## pastes the underscore). */
#ifndef CALLI_ASM_SYM_H
#define CALLI_ASM_SYM_H

#if defined(__APPLE__)
#define CSYM(x) _##x
#define FUNC_BEGIN(x) .globl _##x
#define FUNC_END(x)
#define HIDDEN(x) .private_extern _##x
#define ELF_ONLY(...)
#else
#define CSYM(x) x
#if defined(__x86_64__)
#define FUNC_BEGIN(x) .globl x; .type x, @function
#else
#define FUNC_BEGIN(x) .globl x; .type x, %function
#endif
#define FUNC_END(x) .size x, . - x
#define HIDDEN(x) .hidden x
#define ELF_ONLY(...) __VA_ARGS__
#endif

#endif
