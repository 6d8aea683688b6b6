/* helper.S - a stand-in for the generic helper when the runtime library is
 * not built: tail-calls the target in x12 (no marshaling). */
#include "calli.inc"

FUNC GenericPInvokeCalliHelper
    mov x16, x12                /* br x16: a target with bti c accepts it */
    br x16
ENDF GenericPInvokeCalliHelper

    .section .note.GNU-stack, "", %progbits
